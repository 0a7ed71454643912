package event

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/raidswap/raidswap/internal/host"
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
	Conf string // the mdadm.conf mdadm reads (system path)
	// Written is the file written when Conf is a symbolic link: its target, replaced in its
	// own directory, so the link stays ("" when Conf is the file itself).
	Written string
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

// maxConf bounds the mdadm.conf Install reads: a larger file is refused, not half read.
const maxConf = 64 << 20

// programPath is the form a PROGRAM path must have: mdadm splits its line at white space,
// takes quotes and '#' as its own, and a newline would end the line.
var programPath = regexp.MustCompile(`^(/[A-Za-z0-9._+-]+)+$`)

// Install makes mdadm's monitor run raidswap: it points the Program link at Target and adds
// "PROGRAM Program" to mdadm.conf, after a backup copy (mdadm.conf.raidswap-bak.TIMESTAMP)
// in the same directory. Run again, it changes nothing in mdadm.conf. It refuses an
// mdadm.conf whose PROGRAM (read as mdadm reads it, with mdadm.conf.d) names another program,
// a Program path mdadm would read otherwise, a Target that is no executable file, a Program
// path that is a file and not a link, and a system without mdadm.conf (mdadm's own tools
// write it, with the arrays). An mdadm.conf that is a symbolic link is written through: its
// target is replaced in its own directory and the link kept.
func Install(o InstallOptions) (*Installed, error) {
	if o.Program == "" {
		o.Program = DefaultProgram
	}
	if !programPath.MatchString(o.Program) || filepath.Clean(o.Program) != o.Program || filepath.Base(o.Program) != ProgramName {
		return nil, &InputError{Reason: fmt.Sprintf("PROGRAM %q: raidswap answers mdadm's calls only through a clean absolute path named %s, "+
			"of letters, digits and . _ + - / (mdadm splits its PROGRAM line at white space and takes quotes and # as its own); nothing written", o.Program, ProgramName)}
	}
	in := func(p string) string { return filepath.Join(o.Root, filepath.Clean("/"+p)) }
	if !filepath.IsAbs(o.Target) {
		return nil, fmt.Errorf("the raidswap binary %q is not an absolute path", o.Target)
	}
	res := &Installed{}
	// mdadm reads the first it can open (a dangling link is passed over, as fopen fails).
	for _, c := range confFiles {
		if real, err := resolve(o.Root, c); err == nil {
			if _, err := os.Stat(in(real)); err == nil {
				res.Conf = c
				break
			}
		}
	}
	if res.Conf == "" {
		return nil, fmt.Errorf("no mdadm.conf (%s): write it first with the arrays (on Debian: /usr/share/mdadm/mkconf > /etc/mdadm/mdadm.conf), then run --install again", strings.Join(confFiles, ", "))
	}
	if err := executable(o.Root, o.Target); err != nil {
		return nil, fmt.Errorf("the raidswap binary the link would point to: %w", err)
	}
	real, err := resolve(o.Root, res.Conf)
	if err != nil {
		return nil, fmt.Errorf("refusing to change %s: %w", res.Conf, err)
	}
	if real != res.Conf {
		res.Written = real
	}
	fi, err := os.Stat(in(real))
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("refusing to change %s: it is a %s, not a regular file (mdadm reads the *.conf files of a directory; add the PROGRAM line to one of them yourself)", describe(res.Conf, real), host.FileType(fi.Mode()))
	}
	if fi.Size() > maxConf {
		return nil, fmt.Errorf("refusing to change %s: %d bytes is more than raidswap reads (%d); mdadm would read it all, so raidswap cannot tell which PROGRAM it uses", describe(res.Conf, real), fi.Size(), maxConf)
	}
	b, err := os.ReadFile(in(real))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", describe(res.Conf, real), err)
	}
	effective, err := effectiveProgram(o.Root, res.Conf, b)
	if err != nil {
		return nil, err
	}
	switch {
	case !effective.Found:
	case effective.Program == o.Program || sameFile(o.Root, effective.Program, o.Program):
	default:
		return nil, &ConflictError{Conf: effective.file, Line: effective.Text, LineNo: effective.LineNo, Program: effective.Program, Want: o.Program}
	}
	var nb bytes.Buffer
	if !effective.Found {
		res.Backup = real + ".raidswap-bak." + o.Now.UTC().Format("20060102T150405Z")
		nb.Write(b)
		if len(b) > 0 && b[len(b)-1] != '\n' {
			nb.WriteByte('\n')
		}
		fmt.Fprintf(&nb, "\n# mdadm's monitor runs raidswap on every event (raidswap event --install, %s;\n# the copy from before is %s)\nPROGRAM %s\n",
			o.Now.UTC().Format(time.RFC3339), filepath.Base(res.Backup), o.Program)
		// The one claim Install makes is that mdadm will run Program: read the new file back
		// as mdadm will before writing it.
		if after, err := effectiveProgram(o.Root, res.Conf, nb.Bytes()); err != nil || after.Program != o.Program {
			return nil, fmt.Errorf("refusing to change %s: with the PROGRAM line added, mdadm would run %q, not %s", describe(res.Conf, real), after.Program, o.Program)
		}
	}
	if res.Link, err = link(in(o.Program), o.Target, o.Root); err != nil {
		return nil, err
	}
	if err := executable(o.Root, o.Program); err != nil {
		return nil, fmt.Errorf("PROGRAM %s: %w", o.Program, err)
	}
	if effective.Found {
		return res, nil
	}
	if err := writeAtomic(in(res.Backup), b, fi); err != nil {
		return nil, fmt.Errorf("backing up %s: %w", describe(res.Conf, real), err)
	}
	if err := writeAtomic(in(real), nb.Bytes(), fi); err != nil {
		return nil, fmt.Errorf("writing %s: %w", describe(res.Conf, real), err)
	}
	res.Changed = true
	return res, nil
}

func describe(conf, real string) string {
	if conf == real {
		return conf
	}
	return fmt.Sprintf("%s (a link to %s)", conf, real)
}

// foundProgram is a confProgram and the file it is in.
type foundProgram struct {
	confProgram
	file string
}

// effectiveProgram is the PROGRAM mdadm takes with conf (system path, content b) as its
// mdadm.conf: conf's own, else the first of its mdadm.conf.d directory's *.conf files (in
// mdadm's order: by name, no dot files) that has one.
func effectiveProgram(root, conf string, b []byte) (foundProgram, error) {
	if p := readConfProgram(b); p.Found {
		return foundProgram{p, conf}, nil
	}
	dir := conf + ".d"
	ents, err := os.ReadDir(filepath.Join(root, dir))
	if err != nil {
		return foundProgram{}, nil
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") || len(n) < 6 || !strings.HasSuffix(n, ".conf") {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(dir, n)
		f, err := os.Open(filepath.Join(root, p))
		if err != nil {
			continue
		}
		fb, err := io.ReadAll(io.LimitReader(f, maxConf+1))
		f.Close()
		if err != nil {
			continue
		}
		if len(fb) > maxConf {
			return foundProgram{}, fmt.Errorf("refusing to change %s: %s is larger than raidswap reads (%d bytes); mdadm would read it all", conf, p, maxConf)
		}
		if cp := readConfProgram(fb); cp.Found {
			return foundProgram{cp, p}, nil
		}
	}
	return foundProgram{}, nil
}

// resolve follows the symbolic links of system path p (its last component) below root, as
// the kernel would on the system root stands for: an absolute target is a system path.
func resolve(root, p string) (string, error) {
	p = filepath.Clean("/" + p)
	for i := 0; i < 40; i++ {
		fi, err := os.Lstat(filepath.Join(root, p))
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return p, nil
		}
		t, err := os.Readlink(filepath.Join(root, p))
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(t) {
			t = filepath.Join(filepath.Dir(p), t)
		}
		p = filepath.Clean("/" + t)
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", p)
}

// executable says why system path p (links followed below root) is not a file mdadm can run.
func executable(root, p string) error {
	real, err := resolve(root, p)
	if err != nil {
		return fmt.Errorf("%s does not exist (%w)", p, err)
	}
	fi, err := os.Stat(filepath.Join(root, real))
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w", p, err)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is a %s, not a program", p, host.FileType(fi.Mode()))
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("%s is not executable (mode %v)", p, fi.Mode().Perm())
	}
	return nil
}

func sameFile(root, a, b string) bool {
	ra, err1 := resolve(root, a)
	rb, err2 := resolve(root, b)
	if err1 != nil || err2 != nil {
		return false
	}
	fa, err1 := os.Stat(filepath.Join(root, ra))
	fb, err2 := os.Stat(filepath.Join(root, rb))
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// link points path at target: a missing link is created, a link elsewhere is replaced, and
// anything else at path is refused. A link that already leads to target (the package's
// relative raidswap-event -> raidswap) is kept: it is the package's file, not ours to rewrite.
// root is the directory standing for "/".
func link(path, target, root string) (string, error) {
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
	sys, _ := filepath.Rel(root, path)
	if old == target || sameFile(root, "/"+sys, target) {
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

// writeAtomic replaces path with b: a temporary file in the same directory, with the mode
// and owner of like, synced, renamed over path.
func writeAtomic(path string, b []byte, like fs.FileInfo) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(like.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if st, ok := like.Sys().(*syscall.Stat_t); ok {
		if err := tmp.Chown(int(st.Uid), int(st.Gid)); err != nil && !errors.Is(err, fs.ErrPermission) {
			tmp.Close()
			return err
		}
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
