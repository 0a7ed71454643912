package event

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Install's defaults, as system paths.
const (
	// ProgramName is the name raidswap answers to as mdadm's PROGRAM: invoked through a link
	// of this name, raidswap runs `raidswap event` with mdadm's arguments (mdadm passes no
	// arguments of its own choosing, so the PROGRAM cannot be "raidswap event").
	ProgramName = "raidswap-event"
	// DefaultProgram is the link --install makes and names in mdadm.conf for a raidswap
	// installed by hand (in /usr/local/sbin, as README's manual install does).
	DefaultProgram = "/usr/local/sbin/" + ProgramName
	// PackagedProgram is the link the Debian package ships beside its /usr/sbin/raidswap
	// (packaging/build-deb.sh); --install names it for the packaged binary.
	PackagedProgram = "/usr/sbin/" + ProgramName
)

// ProgramFor is the PROGRAM --install names for the raidswap binary target (a resolved,
// absolute path): the package's own link for the packaged binary, so that mdadm.conf names a
// file the package owns and removes, else DefaultProgram.
func ProgramFor(target string) string {
	if filepath.Dir(target) == filepath.Dir(PackagedProgram) {
		return PackagedProgram
	}
	return DefaultProgram
}

// mdadm reads the first of these that exists (Debian's first, then the upstream default).
var confFiles = []string{"/etc/mdadm/mdadm.conf", "/etc/mdadm.conf"}

// InstallOptions say what --install sets up. Paths are system paths below Root.
type InstallOptions struct {
	// Root is the directory standing for "/" ("/" on the live system).
	Root string
	// Program is the PROGRAM mdadm will run (DefaultProgram when empty).
	Program string
	// Target is the raidswap binary the Program link points to.
	Target string
	Now    time.Time
}

// Installed is what Install did.
type Installed struct {
	Conf    string // the mdadm.conf (system path)
	Backup  string // the backup copy made ("" when mdadm.conf was left alone)
	Changed bool   // false: mdadm.conf already named Program
	Link    string // what was done to the link: "created", "updated", "kept"
}

// ConflictError is an mdadm.conf whose PROGRAM names another program: mdadm runs only one.
type ConflictError struct {
	Conf, Line, Program, Want string
	LineNo                    int
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("refusing to change %s: line %d already names another PROGRAM, %s (%q), and mdadm runs only one. "+
		"To run both, chain them: write a script that runs `%s \"$@\"` and then `%s \"$@\"`, and name that script in the PROGRAM line instead",
		e.Conf, e.LineNo, e.Program, e.Line, e.Program, e.Want)
}

// Install makes mdadm's monitor run raidswap: it points the Program link at Target and adds
// "PROGRAM Program" to mdadm.conf, after a backup copy (mdadm.conf.raidswap-bak.TIMESTAMP)
// in the same directory. Run again, it changes nothing in mdadm.conf. It refuses an
// mdadm.conf whose PROGRAM names another program, a Program path that is a file and not a
// link, and a system without mdadm.conf (mdadm's own tools write it, with the arrays).
func Install(o InstallOptions) (*Installed, error) {
	if o.Program == "" {
		o.Program = DefaultProgram
	}
	if !filepath.IsAbs(o.Program) || filepath.Base(o.Program) != ProgramName {
		return nil, fmt.Errorf("PROGRAM %s: raidswap answers mdadm's calls only through an absolute path named %s", o.Program, ProgramName)
	}
	in := func(p string) string { return filepath.Join(o.Root, filepath.Clean("/"+p)) }
	res := &Installed{}
	for _, c := range confFiles {
		if _, err := os.Stat(in(c)); err == nil {
			res.Conf = c
			break
		}
	}
	if res.Conf == "" {
		return nil, fmt.Errorf("no mdadm.conf (%s): write it first with the arrays (on Debian: /usr/share/mdadm/mkconf > /etc/mdadm/mdadm.conf), then run --install again", strings.Join(confFiles, ", "))
	}
	conf := in(res.Conf)
	b, err := os.ReadFile(conf)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", res.Conf, err)
	}
	fi, err := os.Stat(conf)
	if err != nil {
		return nil, err
	}
	prog, line, n := programLine(b)
	switch {
	case prog == "":
	case prog == o.Program || sameFile(in(prog), in(o.Program)):
	default:
		return nil, &ConflictError{Conf: res.Conf, Line: line, LineNo: n, Program: prog, Want: o.Program}
	}
	if res.Link, err = link(in(o.Program), o.Target, in(o.Target)); err != nil {
		return nil, err
	}
	if prog != "" {
		return res, nil
	}
	res.Backup = res.Conf + ".raidswap-bak." + o.Now.UTC().Format("20060102T150405Z")
	if err := writeAtomic(in(res.Backup), b, fi.Mode().Perm()); err != nil {
		return nil, fmt.Errorf("backing up %s: %w", res.Conf, err)
	}
	var nb bytes.Buffer
	nb.Write(b)
	if len(b) > 0 && b[len(b)-1] != '\n' {
		nb.WriteByte('\n')
	}
	fmt.Fprintf(&nb, "\n# mdadm's monitor runs raidswap on every event (raidswap event --install, %s;\n# the copy from before is %s)\nPROGRAM %s\n",
		o.Now.UTC().Format(time.RFC3339), filepath.Base(res.Backup), o.Program)
	if err := writeAtomic(conf, nb.Bytes(), fi.Mode().Perm()); err != nil {
		return nil, fmt.Errorf("writing %s: %w", res.Conf, err)
	}
	res.Changed = true
	return res, nil
}

// programLine returns the program of mdadm.conf's first PROGRAM line (the one mdadm uses),
// the line and its number. As mdadm reads the file: keywords are case-insensitive and may be
// shortened to three letters, '#' starts a comment at the start of a word, and a line that
// starts with white space continues the one before.
func programLine(conf []byte) (prog, line string, lineNo int) {
	type logical struct {
		words []string
		text  string
		no    int
	}
	var lines []logical
	sc := bufio.NewScanner(bytes.NewReader(conf))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		raw := sc.Text()
		var words []string
		for _, w := range strings.Fields(raw) {
			if strings.HasPrefix(w, "#") {
				break
			}
			words = append(words, w)
		}
		if len(raw) > 0 && (raw[0] == ' ' || raw[0] == '\t') && len(lines) > 0 {
			l := &lines[len(lines)-1]
			l.words = append(l.words, words...)
			l.text += " " + strings.TrimSpace(raw)
			continue
		}
		lines = append(lines, logical{words: words, text: raw, no: n})
	}
	for _, l := range lines {
		if len(l.words) == 0 {
			continue
		}
		k := strings.ToLower(l.words[0])
		if len(k) >= 3 && strings.HasPrefix("program", k) {
			p := ""
			if len(l.words) > 1 {
				p = l.words[1]
			}
			if p == "" {
				continue
			}
			return p, l.text, l.no
		}
	}
	return "", "", 0
}

func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// link points path at target: a missing link is created, a link elsewhere is replaced, and
// anything else at path is refused. A link that already leads to target (the package's
// relative raidswap-event -> raidswap) is kept: it is the package's file, not ours to rewrite.
// rootedTarget is target below Root, where the link resolves.
func link(path, target, rootedTarget string) (string, error) {
	if !filepath.IsAbs(target) {
		return "", fmt.Errorf("the raidswap binary %q is not an absolute path", target)
	}
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return "", err
		}
		if err := os.Symlink(target, path); err != nil {
			return "", err
		}
		return "created", nil
	case err != nil:
		return "", err
	case fi.Mode()&fs.ModeSymlink == 0:
		return "", fmt.Errorf("refusing to replace %s: it is a %s, not a link to raidswap (a wrapper of yours? name it in --program, or move it)", path, fi.Mode().Type())
	}
	old, err := os.Readlink(path)
	if err != nil {
		return "", err
	}
	if old == target || sameFile(path, rootedTarget) {
		return "kept", nil
	}
	tmp := path + ".raidswap-new"
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return "updated (was " + old + ")", nil
}

func writeAtomic(path string, b []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
