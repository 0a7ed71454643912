package mdadm

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"github.com/prometheus/procfs"

	"github.com/raidswap/raidswap/internal/host"
)

// ErrNoMD means the kernel has no md driver: there is no /proc/mdstat.
var ErrNoMD = errors.New("this kernel has no md driver (no /proc/mdstat): load md-mod or boot a kernel with CONFIG_MD")

// MDStat is one array as /proc/mdstat shows it, with the few things procfs leaves out.
type MDStat struct {
	procfs.MDStat
	// Metadata is the "super X" word of the status line ("" for 0.90, which prints none).
	Metadata string
	// Delayed is true when md has a resync or recovery for the array that it has not started
	// (any of the Wait words).
	Delayed bool
	// Wait is the word after "=" when md has not started the sync (md.c status_resync):
	// "DELAYED" (it waits for another array on the same disks), "PENDING" (nothing has
	// started it yet: a read-auto or frozen array whose members md has not yet checked
	// against each other), "REMOTE" (another cluster node runs it); "" otherwise. mdadm's
	// mdstat.c reads the same three, for any sync word ("resync=", "recovery=", "check=").
	Wait string
	// Action is the sync word of the progress line: recovery, resync, check, repair, reshape.
	Action string
}

var (
	superRE   = regexp.MustCompile(`\bsuper ([0-9.]+|external:\S+)`)
	actionRE  = regexp.MustCompile(`\b(recovery|resync|check|repair|reshape)\s*=\s*(\S+)`)
	arrayHead = regexp.MustCompile(`^(md\S*) : `)
)

// ReadMDStat reads and parses /proc/mdstat under root. procfs reads the file itself, from
// the Root's /proc, so nothing is written to parse it (discovery runs every half second
// during a repair). The few things procfs leaves out come from a second read of the same
// file; when the two reads name different arrays (one appeared or was stopped in between)
// both are read again. A sync that starts or ends between them is the mid-change discovery
// already reconciles between sysfs and mdstat.
func ReadMDStat(root *host.Root) ([]MDStat, error) {
	var out []MDStat
	var err error
	for range 3 {
		var same bool
		out, same, err = readMDStatOnce(root)
		if err != nil || same {
			break
		}
	}
	return out, err
}

// readMDStatOnce reads /proc/mdstat for its extras and through procfs, and reports whether
// both reads listed the same arrays.
func readMDStatOnce(root *host.Root) (out []MDStat, same bool, err error) {
	data, err := root.ReadFile("/proc/mdstat")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, true, ErrNoMD
	}
	if err != nil {
		return nil, true, fmt.Errorf("reading /proc/mdstat: %w", err)
	}
	base, err := parseWithProcfs(root.Path("/proc"))
	if err != nil {
		return nil, true, err
	}
	extra, names := scanExtras(string(data))
	same = len(names) == len(base)
	out = make([]MDStat, 0, len(base))
	for i, b := range base {
		same = same && names[i] == b.Name
		m := MDStat{MDStat: b}
		if e, ok := extra[b.Name]; ok {
			m.Metadata, m.Delayed, m.Action, m.Wait = e.Metadata, e.Delayed, e.Action, e.Wait
		}
		out = append(out, m)
	}
	return out, same, nil
}

// parseWithProcfs has procfs parse the mdstat under proc. procfs v0.23.0 panics on some
// malformed input (found by FuzzParseMDStat: "Personalities : 0"); that panic is turned into
// an error here so a strange kernel never crashes status.
func parseWithProcfs(proc string) (out []procfs.MDStat, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("parsing /proc/mdstat: malformed text (%v)", r)
		}
	}()
	pfs, err := procfs.NewFS(proc)
	if err != nil {
		return nil, fmt.Errorf("parsing /proc/mdstat: %w", err)
	}
	out, err = pfs.MDStat()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoMD
	}
	if err != nil {
		return nil, fmt.Errorf("parsing /proc/mdstat: %w", err)
	}
	return out, nil
}

// scanExtras reads, per array block, what procfs does not keep, and the arrays' names in
// the order they are listed.
func scanExtras(text string) (map[string]MDStat, []string) {
	out := map[string]MDStat{}
	var names []string
	cur := ""
	for _, line := range strings.Split(text, "\n") {
		if m := arrayHead.FindStringSubmatch(line); m != nil {
			cur = m[1]
			out[cur] = MDStat{}
			names = append(names, cur)
			continue
		}
		if cur == "" || !strings.HasPrefix(line, " ") {
			if strings.TrimSpace(line) == "" {
				cur = ""
			}
			continue
		}
		e := out[cur]
		if m := superRE.FindStringSubmatch(line); m != nil && e.Metadata == "" {
			e.Metadata = m[1]
		}
		if m := actionRE.FindStringSubmatch(line); m != nil {
			e.Action = m[1]
			switch m[2] {
			case "DELAYED", "PENDING", "REMOTE":
				e.Delayed, e.Wait = true, m[2]
			}
		}
		out[cur] = e
	}
	return out, names
}
