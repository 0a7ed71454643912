package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/raidswap/raidswap/internal/event"
	"github.com/raidswap/raidswap/internal/paths"
)

// shippedCompletions are the shells whose completion scripts the package installs
// (packaging/build-deb.sh, and `make completion`). cobra's `completion` command has a
// subcommand for every shell it knows; the others get no man page.
var shippedCompletions = []string{"bash", "zsh"}

// exitStatus is one row of every page's EXIT STATUS section.
type exitStatus struct {
	code    int
	meaning string
}

// exitStatuses are the codes raidswap ends with, from the constants the commands return
// (exit.go, drill.go, wizard.go, interrupt.go). TestManExitStatusCoversEveryCode keeps the
// table and the constants together.
var exitStatuses = []exitStatus{
	{ExitOK, "success; for status and watch: every array is redundant (OK); for drill: every scenario met its expectation"},
	{ExitWarning, "status and watch: WARNING (redundant, but something needs attention); drill: a scenario did not meet its expectation"},
	{ExitCritical, "status and watch: CRITICAL (an array runs on one copy, or a rebuild has not finished)"},
	{ExitUnknown, "status, watch, inventory and locate: the system could not be read (UNKNOWN)"},
	{ExitUsage, "a command line raidswap does not accept, or the wizard started without a terminal"},
	{ExitRefused, "refused: the plan or a step would be unsafe, a saved plan is stale or not sealed by this host, another raidswap holds the lock, there is nothing to resume, or the operator declined; nothing is written for what was refused"},
	{ExitFailed, "a command ran and failed, or a wait timed out; the journal says which step, and raidswap resume continues from it"},
	{ExitSecondFailure, "a run stopped by a second failure during the rebuild: the plan cannot go on, and resume refuses it"},
	{ExitNoMD, "drill: the kernel has no md driver"},
	{ExitPowerOff, "the wizard with --cold stopped on purpose after taking the failed disk out of its arrays: power off, swap the disk, boot, and sudo raidswap (or raidswap resume) continues from the open journal"},
	{ExitNotRoot, "drill: not started as root"},
	{(&SignalError{Signal: syscall.SIGHUP}).ExitCode(), "ended by SIGHUP (the terminal went away); a run's journal stays consistent and raidswap resume continues it"},
	{ExitInterrupted, "ended by Ctrl-C (SIGINT); a run's journal stays consistent and raidswap resume continues it"},
	{ExitTerminated, "ended by SIGTERM; a run's journal stays consistent and raidswap resume continues it"},
}

// fileEntry is one row of every page's FILES section.
type fileEntry struct {
	path, what string
}

// manFiles are the paths raidswap reads and writes, from the constants the code uses.
var manFiles = []fileEntry{
	{paths.Host().Journal, "one journal per run: what each step did; raidswap resume and status read it (--journal-dir)"},
	{paths.Host().Lock, "the lock that keeps two raidswaps that act apart (--lock)"},
	{paths.Host().Key, "the host's plan key: a saved plan is sealed with it and apply accepts only plans it sealed"},
	{paths.Host().Audit, "the audit log, one JSON line per step, command, note and message of a run and per mdadm event (--audit-log)"},
	{paths.Host().Inventory, "the inventory: every disk's serial, model and bay, so a vanished disk can still be named (raidswap inventory save)"},
	{paths.Host().Backups, "both partition tables, backed up before a table is cloned (--backup-dir)"},
	{event.DefaultTextfile, "the Prometheus textfile node-exporter reads, written by raidswap event and raidswap inventory save (--textfile, RAIDSWAP_TEXTFILE)"},
	{DefaultDrillDir, "the drill's labs: loop disks, their own journal, lock, key and backups"},
}

// wizardParagraph is said on raidswap(8): the command alone is the wizard.
const wizardParagraph = `.PP
Run alone, as root on a terminal, \fBraidswap\fP starts the wizard: it shows the arrays and
the failed disk, takes the failed disk out of its arrays, waits for the new disk, then
partitions it, adds it and follows the rebuild; each phase goes ahead only after the
operator typed the end of that disk's serial. While it asks for the failed disk's serial,
that disk's bay locate LED (where one is known) is lit; \fBt\fP at that question prints
the text of \fBraidswap ticket\fP for remote hands and asks again. \fBraidswap \-\-plan\fP prints the plan
instead and changes nothing; \fB\-\-plain\fP asks line by line (serial consoles). Without a
terminal the wizard does not start (exit 64): use \fBraidswap replace \-\-yes \-\-failed\fP
\fISERIAL\fP, or \fBraidswap plan\fP and \fBraidswap apply\fP.
`

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
			hideUnshippedCompletions(root)
			// A fresh clone has no man/ directory.
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("writing man pages to %s: %w", dir, err)
			}
			if err := writeManTree(root, hdr, dir); err != nil {
				return fmt.Errorf("writing man pages to %s: %w", dir, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "man pages written to %s\n", dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "man", "directory to write the pages into")
	return cmd
}

// hideUnshippedCompletions hides cobra's completion subcommands for shells the package does
// not ship, so they have no page and raidswap-completion(8) does not point at one.
func hideUnshippedCompletions(root *cobra.Command) {
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		for _, sh := range c.Commands() {
			sh.Hidden = !contains(shippedCompletions, sh.Name())
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// writeManTree writes one page per available command, as cobra's GenManTree names them
// (raidswap-partition-clone.8), each with the EXIT STATUS and FILES sections.
func writeManTree(c *cobra.Command, hdr *doc.GenManHeader, dir string) error {
	for _, sub := range c.Commands() {
		if !sub.IsAvailableCommand() || sub.IsAdditionalHelpTopicCommand() {
			continue
		}
		if err := writeManTree(sub, hdr, dir); err != nil {
			return err
		}
	}
	h := *hdr
	var b bytes.Buffer
	if err := doc.GenMan(c, &h, &b); err != nil {
		return err
	}
	page := addManSections(b.String(), !c.HasParent())
	name := strings.ReplaceAll(c.CommandPath(), " ", "-") + "." + hdr.Section
	return os.WriteFile(filepath.Join(dir, name), []byte(page), 0o644)
}

// addManSections adds EXIT STATUS and FILES where man-pages(7) puts them (after OPTIONS,
// before EXAMPLE and SEE ALSO) and, on the root page, the wizard paragraph at the end of
// DESCRIPTION.
func addManSections(page string, root bool) string {
	if root {
		page = insertBefore(page, []string{"\n.SH OPTIONS", "\n.SH EXAMPLE", "\n.SH SEE ALSO"}, wizardParagraph)
	}
	return insertBefore(page, []string{"\n.SH EXAMPLE", "\n.SH SEE ALSO"}, manExitStatus()+manFilesSection())
}

// insertBefore puts text before the first of the headings the page has, or at its end.
func insertBefore(page string, headings []string, text string) string {
	for _, h := range headings {
		if i := strings.Index(page, h); i >= 0 {
			return page[:i+1] + text + "\n" + page[i+1:]
		}
	}
	if !strings.HasSuffix(page, "\n") {
		page += "\n"
	}
	return page + text
}

// manExitStatus is the EXIT STATUS section, in roff.
func manExitStatus() string {
	var b strings.Builder
	b.WriteString(".SH EXIT STATUS\n")
	for _, e := range exitStatuses {
		fmt.Fprintf(&b, ".TP\n\\fB%d\\fP\n%s\n", e.code, roffText(e.meaning))
	}
	return b.String()
}

// manFilesSection is the FILES section, in roff.
func manFilesSection() string {
	var b strings.Builder
	b.WriteString(".SH FILES\n")
	for _, f := range manFiles {
		fmt.Fprintf(&b, ".TP\n\\fI%s\\fP\n%s\n", roffText(f.path), roffText(f.what))
	}
	return b.String()
}

// roffText escapes what roff would read as markup: backslashes, hyphens of options, and a
// leading dot or quote.
func roffText(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
