package mdadm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
	// Delayed is true when the array's resync or recovery waits for another array
	// ("resync=DELAYED", "recovery=PENDING").
	Delayed bool
	// Action is the sync word of the progress line: recovery, resync, check, repair, reshape.
	Action string
}

var (
	superRE   = regexp.MustCompile(`\bsuper ([0-9.]+|external:\S+)`)
	actionRE  = regexp.MustCompile(`\b(recovery|resync|check|repair|reshape)\s*=\s*(\S+)`)
	arrayHead = regexp.MustCompile(`^(md\S*) : `)
)

// ReadMDStat reads and parses /proc/mdstat under root.
func ReadMDStat(root *host.Root) ([]MDStat, error) {
	data, err := root.ReadFile("/proc/mdstat")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoMD
	}
	if err != nil {
		return nil, fmt.Errorf("reading /proc/mdstat: %w", err)
	}
	return ParseMDStat(data)
}

// ParseMDStat parses the text of /proc/mdstat. procfs parses only from a file system, so the
// bytes are handed to it through a private temporary directory. procfs v0.23.0 panics on
// some malformed input (found by FuzzParseMDStat: "Personalities : 0"); that panic is turned
// into an error here so a strange kernel never crashes status.
func ParseMDStat(data []byte) (out []MDStat, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("parsing /proc/mdstat: malformed text (%v)", r)
		}
	}()
	dir, err := os.MkdirTemp("", "raidswap-mdstat-")
	if err != nil {
		return nil, fmt.Errorf("parsing /proc/mdstat: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "mdstat"), data, 0o600); err != nil {
		return nil, fmt.Errorf("parsing /proc/mdstat: %w", err)
	}
	pfs, err := procfs.NewFS(dir)
	if err != nil {
		return nil, fmt.Errorf("parsing /proc/mdstat: %w", err)
	}
	base, err := pfs.MDStat()
	if err != nil {
		return nil, fmt.Errorf("parsing /proc/mdstat: %w", err)
	}
	extra := scanExtras(string(data))
	out = make([]MDStat, 0, len(base))
	for _, b := range base {
		m := MDStat{MDStat: b}
		if e, ok := extra[b.Name]; ok {
			m.Metadata, m.Delayed, m.Action = e.Metadata, e.Delayed, e.Action
		}
		out = append(out, m)
	}
	return out, nil
}

// scanExtras reads, per array block, what procfs does not keep.
func scanExtras(text string) map[string]MDStat {
	out := map[string]MDStat{}
	cur := ""
	for _, line := range strings.Split(text, "\n") {
		if m := arrayHead.FindStringSubmatch(line); m != nil {
			cur = m[1]
			out[cur] = MDStat{}
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
			if m[2] == "DELAYED" || m[2] == "PENDING" {
				e.Delayed = true
			}
		}
		out[cur] = e
	}
	return out
}
