package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

func newManCmd(root *cobra.Command) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:    "man",
		Short:  "Write man pages for every command into a directory",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			hdr := &doc.GenManHeader{Title: "RAIDSWAP", Section: "8", Source: "raidswap " + Version, Manual: "raidswap manual"}
			root.DisableAutoGenTag = true
			// A fresh clone has no man/ directory; cobra's GenManTree does not make it.
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("writing man pages to %s: %w", dir, err)
			}
			if err := doc.GenManTree(root, hdr, dir); err != nil {
				return fmt.Errorf("writing man pages to %s: %w", dir, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "man pages written to %s\n", dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "man", "directory to write the pages into")
	return cmd
}
