package cli

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/raidswap/raidswap/internal/capture"
)

func init() { register(newSnapshotCmd) }

func newSnapshotCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "snapshot FILE",
		Short: "Capture the files status reads, for a bug report or a test fixture",
		Long: `snapshot writes FILE (a .tar.gz) with exactly the files and links under /proc, /sys,
/dev and /run that discovery reads. 'raidswap status --root FILE' (or the unpacked
directory) then shows what 'raidswap status' shows on this machine now. A capture holds
disk serials and models, array UUIDs and mount points; nothing else.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			root, cleanup, err := f.DiscoveryRoot()
			if err != nil {
				return err
			}
			defer cleanup()
			paths, sys, err := capture.Record(root)
			if err != nil {
				return err
			}
			out, err := os.Create(args[0])
			if err != nil {
				return err
			}
			hostname, _ := root.ReadString("/proc/sys/kernel/hostname")
			kernel, _ := root.ReadString("/proc/sys/kernel/osrelease")
			m, err := capture.Write(out, root.Dir(), paths, capture.Manifest{
				Taken: time.Now().UTC(), Hostname: hostname, Kernel: kernel, Verdict: string(sys.Verdict),
			})
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("writing %s: %w", args[0], err)
			}
			fmt.Fprintf(f.IO.Out, "captured %d files and %d links from %s (kernel %s, verdict %s) into %s\n",
				m.Files, m.Links, orUnknown(hostname), orUnknown(kernel), sys.Verdict, args[0])
			return nil
		},
	}
}

func orUnknown(s string) string {
	if strings.TrimSpace(s) == "" {
		return "unknown"
	}
	return s
}
