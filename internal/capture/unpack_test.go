package capture

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tarEntry is one header of a hand-made archive; body is written for regular files unless
// noBody is set (a header that promises more than the stream holds).
type tarEntry struct {
	name, link string
	typ        byte
	body       string
	size       int64
	noBody     bool
}

func reg(name, body string) tarEntry    { return tarEntry{name: name, typ: tar.TypeReg, body: body} }
func dir(name string) tarEntry          { return tarEntry{name: name, typ: tar.TypeDir} }
func symlink(name, to string) tarEntry  { return tarEntry{name: name, typ: tar.TypeSymlink, link: to} }
func hardlink(name, to string) tarEntry { return tarEntry{name: name, typ: tar.TypeLink, link: to} }

// archive builds a tar.gz of the entries, after a valid manifest.
func archive(t *testing.T, entries []tarEntry) *bytes.Buffer {
	t.Helper()
	buf, err := buildArchive(entries)
	if err != nil {
		t.Fatal(err)
	}
	return buf
}

func buildArchive(entries []tarEntry) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range append([]tarEntry{reg(ManifestName, `{"format":1}`)}, entries...) {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(e.body))
			if e.size != 0 {
				h.Size = e.size
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if e.noBody {
			// The reader must refuse the header before it reads the missing bytes.
			break
		}
		body := []byte(e.body)
		if e.typ == tar.TypeReg && e.size != 0 && e.body == "" {
			body = make([]byte, e.size)
		}
		if _, err := tw.Write(body); err != nil {
			return nil, err
		}
	}
	tw.Flush()
	return &buf, gz.Close()
}

// escapeBed is a target directory next to a sentinel directory that every escape aims at.
type escapeBed struct{ out, sentinel string }

func newEscapeBed(t *testing.T) escapeBed {
	base := t.TempDir()
	b := escapeBed{filepath.Join(base, "out"), filepath.Join(base, "sentinel")}
	for _, d := range []string{b.out, b.sentinel} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// checkSentinel fails the test if anything appeared in the sentinel directory.
func (b escapeBed) checkSentinel(t *testing.T) {
	t.Helper()
	ents, err := os.ReadDir(b.sentinel)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("unpack wrote %s outside its directory", filepath.Join(b.sentinel, e.Name()))
	}
}

// chain is the adversary's archive: links that each stay inside lexically (l0 -> ., l0/l1 -> .,
// ...) so that l0/.../esc -> ../../.. climbs, on disk, far above the target directory, then a
// file under esc/ aimed at the sentinel.
func chain(b escapeBed) []tarEntry {
	depth := strings.Count(b.out, "/") + 1
	var es []tarEntry
	p := ""
	for i := 0; i < depth; i++ {
		p = filepath.Join(p, "l"+string(rune('a'+i%26))+strings.Repeat("x", i/26))
		es = append(es, symlink(p, "."))
	}
	esc := filepath.Join(p, "esc")
	es = append(es, symlink(esc, strings.TrimSuffix(strings.Repeat("../", depth), "/")))
	es = append(es, reg(filepath.Join(esc, strings.TrimPrefix(b.sentinel, "/"), "pwned"), "owned\n"))
	return es
}

func TestUnpackRefusesSymlinkChainEscape(t *testing.T) {
	b := newEscapeBed(t)
	_, err := Unpack(archive(t, chain(b)), b.out)
	if err == nil {
		t.Error("the link chain was unpacked without an error")
	} else if !strings.Contains(err.Error(), "passes through the link") {
		t.Errorf("error %q does not say the entry passes through a link", err)
	}
	b.checkSentinel(t)
}

func TestUnpackRefusesHostileEntries(t *testing.T) {
	b0 := newEscapeBed(t) // only for the sentinel's name in the entries below
	sent := strings.TrimPrefix(b0.sentinel, "/")
	for _, c := range []struct {
		name    string
		entries func(b escapeBed) []tarEntry
		want    string
	}{
		{"absolute link", func(b escapeBed) []tarEntry {
			return []tarEntry{symlink("sys/evil", b.sentinel), reg("sys/evil/pwned", "x")}
		}, "absolute"},
		{"climbing link", func(b escapeBed) []tarEntry {
			return []tarEntry{symlink("sys/evil", "../../sentinel"), reg("sys/evil/pwned", "x")}
		}, "outside the capture"},
		{"hard link", func(b escapeBed) []tarEntry {
			return []tarEntry{hardlink("sys/evil", filepath.Join(b.sentinel, "x"))}
		}, "hard link"},
		{"dotdot name", func(b escapeBed) []tarEntry {
			return []tarEntry{reg("../sentinel/pwned", "x")}
		}, ".."},
		{"dotdot inside name", func(b escapeBed) []tarEntry {
			return []tarEntry{dir("sys/"), reg("sys/../../sentinel/pwned", "x")}
		}, ".."},
		{"absolute name", func(b escapeBed) []tarEntry {
			return []tarEntry{reg(filepath.Join(b.sentinel, "pwned"), "x")}
		}, "absolute"},
		{"through an in-capture link", func(b escapeBed) []tarEntry {
			return []tarEntry{dir("sys/devices/"), symlink("sys/block", "devices"), reg("sys/block/size", "1\n")}
		}, "passes through the link sys/block"},
		{"dir through a link", func(b escapeBed) []tarEntry {
			return []tarEntry{symlink("a", "."), dir("a/b/")}
		}, "passes through the link a"},
		{"link then file of the same name", func(b escapeBed) []tarEntry {
			return []tarEntry{symlink("sys/x", "y"), reg("sys/x", "x")}
		}, "twice"},
		{"link whose target passes through a link", func(b escapeBed) []tarEntry {
			return []tarEntry{symlink("l0", "."), symlink("d/l1", "../l0/../"+sent)}
		}, "clean"},
		{"empty link", func(b escapeBed) []tarEntry {
			return []tarEntry{symlink("sys/x", "")}
		}, "empty"},
		{"device node", func(b escapeBed) []tarEntry {
			return []tarEntry{{name: "dev/sda", typ: tar.TypeBlock}}
		}, "block device"},
		{"fifo", func(b escapeBed) []tarEntry {
			return []tarEntry{{name: "run/fifo", typ: tar.TypeFifo}}
		}, "fifo"},
		{"huge entry", func(b escapeBed) []tarEntry {
			return []tarEntry{{name: "sys/huge", typ: tar.TypeReg, size: maxBytes + 1, noBody: true}}
		}, "more than"},
		{"many entries", func(b escapeBed) []tarEntry {
			es := make([]tarEntry, maxEntries+1)
			for i := range es {
				es[i] = dir("d/")
			}
			return es
		}, "more than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newEscapeBed(t)
			es := c.entries(b)
			// Aim every relative escape at this bed's sentinel.
			for i := range es {
				es[i].name = strings.ReplaceAll(es[i].name, sent, strings.TrimPrefix(b.sentinel, "/"))
				es[i].link = strings.ReplaceAll(es[i].link, sent, strings.TrimPrefix(b.sentinel, "/"))
			}
			_, err := Unpack(archive(t, es), b.out)
			if err == nil {
				t.Fatal("unpacked without an error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			b.checkSentinel(t)
		})
	}
}

// TestUnpackTotalBytes: many files each within the limit must not add up past it.
func TestUnpackTotalBytes(t *testing.T) {
	b := newEscapeBed(t)
	var es []tarEntry
	for i := 0; i < 3; i++ {
		es = append(es, tarEntry{name: "sys/f" + string(rune('0'+i)), typ: tar.TypeReg, size: maxBytes / 2})
	}
	if _, err := Unpack(archive(t, es), b.out); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("files adding up past the limit: err %v", err)
	}
}

// TestUnpackNames is a table of entry names: the accepted ones land where their name says,
// inside the target; the refused ones leave nothing outside it.
func TestUnpackNames(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
		at   string // where an accepted file lands, relative to the target
	}{
		{"sys/block/vda/size", true, "sys/block/vda/size"},
		{"./sys/size", true, "sys/size"},
		{"sys//size", true, "sys/size"},
		{"sys/./size", true, "sys/size"},
		{"..", false, ""},
		{"../size", false, ""},
		{"sys/..", false, ""},
		{"sys/../size", false, ""},
		{"/size", false, ""},
		{"//size", false, ""},
		{".", false, ""},
		{"", false, ""},
		{"...", true, "..."},
		{"..size", true, "..size"},
		{"sys/size..", true, "sys/size.."},
		{`sys\..\size`, true, `sys\..\size`}, // a backslash is only a character here
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newEscapeBed(t)
			_, err := Unpack(archive(t, []tarEntry{reg(c.name, "1\n")}), b.out)
			if c.ok != (err == nil) {
				t.Fatalf("%q: err %v, want ok=%v", c.name, err, c.ok)
			}
			if c.ok {
				if s, err := os.ReadFile(filepath.Join(b.out, c.at)); err != nil || string(s) != "1\n" {
					t.Errorf("%q: %s holds %q %v", c.name, c.at, s, err)
				}
			}
			b.checkSentinel(t)
			if _, err := os.Stat(filepath.Join(filepath.Dir(b.out), "size")); err == nil {
				t.Errorf("%q: landed next to the target", c.name)
			}
		})
	}
}

// TestUnpackAcceptsSysfsShapes: links kept relative, dangling links (udev's by-id names whose
// /dev node is not captured), and a directory named again after files were put in it.
func TestUnpackAcceptsSysfsShapes(t *testing.T) {
	b := newEscapeBed(t)
	_, err := Unpack(archive(t, []tarEntry{
		dir("sys/"), dir("sys/devices/"), dir("sys/devices/vda/"), reg("sys/devices/vda/size", "8\n"),
		dir("sys/block/"), symlink("sys/block/vda", "../devices/vda"),
		symlink("dev/disk/by-id/virtio-X", "../../vda"),
		symlink("sys/self", "."),
		dir("sys/devices/"),
	}), b.out)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := os.ReadFile(filepath.Join(b.out, "sys/block/vda/size")); err != nil || string(s) != "8\n" {
		t.Errorf("through the unpacked link: %q %v", s, err)
	}
	b.checkSentinel(t)
}

func TestUnpackRefusesNonEmptyTarget(t *testing.T) {
	b := newEscapeBed(t)
	if err := os.Symlink(b.sentinel, filepath.Join(b.out, "sys")); err != nil {
		t.Fatal(err)
	}
	if _, err := Unpack(archive(t, []tarEntry{reg("sys/pwned", "x")}), b.out); err == nil {
		t.Error("unpacked into a directory that already held a link")
	}
	b.checkSentinel(t)
}

// FuzzUnpack builds archives of two links and a file from fuzzed names; "@" in a name or
// target stands for the sentinel's path without its leading "/". Whatever Unpack decides,
// nothing may appear in the sentinel.
func FuzzUnpack(f *testing.F) {
	f.Add("l0", ".", "l0/l1", "../..", "l0/l1/@/pwned")
	f.Add("a", "../../../../../../../..", "b", ".", "a/@/pwned")
	f.Add("sys/block", "../@", "sys/x", "block/../..", "sys/x/@/pwned")
	f.Add("x", "/@", "y", "x", "y/pwned")
	f.Fuzz(func(t *testing.T, l1, t1, l2, t2, file string) {
		b := newEscapeBed(t)
		s := strings.TrimPrefix(b.sentinel, "/")
		at := func(v string) string { return strings.ReplaceAll(v, "@", s) }
		buf, err := buildArchive([]tarEntry{symlink(at(l1), at(t1)), symlink(at(l2), at(t2)), reg(at(file), "x")})
		if err != nil {
			t.Skip("tar cannot encode these names:", err)
		}
		Unpack(buf, b.out)
		b.checkSentinel(t)
	})
}
