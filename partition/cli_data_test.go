package partition_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/cli"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/partition"
)

// What a target or source holds, as libblkid sees it: file systems and disk labels beyond
// raidswap's own signature list, and the words the refusals use for them.

func needTool(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not installed", path)
	}
}

func runTool(t *testing.T, stdin string, argv ...string) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

func patch(t *testing.T, img string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// labelled images: each holds something raidswap's own reader did not know, so the
// original check called them empty.
var labelled = []struct {
	name string
	// word must appear in the refusal
	word string
	make func(t *testing.T, img string)
}{
	{"minix", "minix", func(t *testing.T, img string) {
		needTool(t, "/sbin/mkfs.minix")
		runTool(t, "", "/sbin/mkfs.minix", img)
	}},
	{"f2fs", "f2fs", func(t *testing.T, img string) {
		needTool(t, "/sbin/mkfs.f2fs")
		runTool(t, "", "/sbin/mkfs.f2fs", "-q", img)
	}},
	{"sun", "sun", func(t *testing.T, img string) {
		runTool(t, ",10M\n", host.Sfdisk, "-q", "--label", "sun", img)
	}},
	{"sgi", "sgi", func(t *testing.T, img string) {
		runTool(t, ",10M\n", host.Sfdisk, "-q", "--label", "sgi", img)
	}},
	{"bsd", "BSD", func(t *testing.T, img string) {
		// A BSD disklabel at sector 1 with one 4.2BSD partition, as on i386.
		l := make([]byte, 148+16*3)
		le := binary.LittleEndian
		le.PutUint32(l[0:], 0x82564557)
		le.PutUint32(l[40:], 512)
		le.PutUint32(l[60:], 131072)
		le.PutUint32(l[132:], 0x82564557)
		le.PutUint16(l[138:], 3)
		le.PutUint32(l[148:], 65536)
		le.PutUint32(l[152:], 64)
		l[160] = 7
		var sum uint16
		for i := 0; i < len(l); i += 2 {
			sum ^= le.Uint16(l[i:])
		}
		le.PutUint16(l[136:], sum)
		patch(t, img, 512, l)
	}},
	{"atari", "atari", func(t *testing.T, img string) {
		// Root sector: disk size in sectors, then one active "GEM" partition (big-endian).
		b := make([]byte, 16)
		binary.BigEndian.PutUint32(b[0:], 256<<20/512)
		copy(b[4:], "\x01GEM")
		binary.BigEndian.PutUint32(b[8:], 2)
		binary.BigEndian.PutUint32(b[12:], 20480)
		patch(t, img, 0x1c2, b)
	}},
}

func TestCLICloneRefusesWhatLibblkidSees(t *testing.T) {
	needTool(t, host.Sgdisk)
	needTool(t, host.Wipefs)
	src := image(t, 128<<20, "-n1:2048:+1M", "-t1:ef02", "-n2:0:0", "-t2:fd00")
	backups := t.TempDir()
	for _, c := range labelled {
		t.Run(c.name, func(t *testing.T) {
			dst := image(t, 256<<20)
			c.make(t, dst)
			before := partition.ContentSum(t, dst)
			code, _, stderr := raidswap(t, "partition", "clone", "--from", src, "--to", dst, "--backup-dir", backups, "--lock", filepath.Join(t.TempDir(), "lock"))
			if code != cli.ExitRefused || !strings.Contains(stderr, "refusing to write "+dst+": it already holds data") || !strings.Contains(stderr, c.word) {
				t.Errorf("exit %d, stderr %q; want a refusal naming %s", code, stderr, c.word)
			}
			if partition.ContentSum(t, dst) != before {
				t.Error("target changed")
			}
		})
	}
}

func TestCLICloneSourceLabelNamed(t *testing.T) {
	needTool(t, host.Wipefs)
	backups := t.TempDir()
	for _, c := range labelled {
		if c.name == "minix" || c.name == "f2fs" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			src := image(t, 256<<20)
			c.make(t, src)
			dst := image(t, 256<<20)
			code, _, stderr := raidswap(t, "partition", "clone", "--from", src, "--to", dst, "--dry-run", "--backup-dir", backups)
			want := "has a " + c.word + " disk label, which raidswap does not clone"
			if code != cli.ExitRefused || !strings.Contains(stderr, want) || strings.Contains(stderr, "no partition table") {
				t.Errorf("exit %d, stderr %q; want %q", code, stderr, want)
			}
		})
	}
}

// A FAT "superfloppy" made with mkfs.fat --mbr: its boot sector carries an MBR-like entry
// starting at LBA 0. It is a file system on the whole disk, not a table that does not fit.
func TestCLICloneSuperfloppy(t *testing.T) {
	needTool(t, host.Sgdisk)
	needTool(t, host.MkfsVfat)
	fat := filepath.Join(t.TempDir(), "floppy.img")
	runTool(t, "", host.MkfsVfat, "--mbr=y", "-C", fat, "1440")
	backups := t.TempDir()

	dst := image(t, 16<<20)
	code, _, stderr := raidswap(t, "partition", "clone", "--from", fat, "--to", dst, "--dry-run", "--backup-dir", backups)
	if want := "holds a FAT file system on the whole disk (no partition table): nothing to clone"; code != cli.ExitRefused || !strings.Contains(stderr, want) {
		t.Errorf("as source: exit %d, stderr %q; want %q", code, stderr, want)
	}

	src := image(t, 1440<<10, "-n1:2048:0", "-t1:fd00")
	before := partition.ContentSum(t, fat)
	code, _, stderr = raidswap(t, "partition", "clone", "--from", src, "--to", fat, "--backup-dir", backups, "--lock", filepath.Join(t.TempDir(), "lock"))
	if code != cli.ExitRefused || !strings.Contains(stderr, "it already holds data") || !strings.Contains(stderr, "FAT") || strings.Contains(stderr, "does not fit") {
		t.Errorf("as target: exit %d, stderr %q; want an existing-data refusal naming FAT", code, stderr)
	}
	if partition.ContentSum(t, fat) != before {
		t.Error("target changed")
	}
}

// Without a prober the target is not assumed empty.
func TestCLICloneRefusesWhenProberCannotRun(t *testing.T) {
	needTool(t, host.Sgdisk)
	src := image(t, 64<<20, "-n1:2048:0", "-t1:fd00")
	dst := image(t, 64<<20)
	before := partition.ContentSum(t, dst)
	var out, errb bytes.Buffer
	f := &cli.Factory{
		IO:        &cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb},
		NewRunner: func() host.Runner { return host.NoRunner{Reason: "no prober in this test"} },
	}
	code := cli.Run(f, []string{"partition", "clone", "--from", src, "--to", dst, "--backup-dir", t.TempDir(), "--lock", filepath.Join(t.TempDir(), "lock")})
	if code != cli.ExitRefused || !strings.Contains(errb.String(), "refusing to write "+dst+": cannot tell whether it holds data") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
	if partition.ContentSum(t, dst) != before {
		t.Error("target changed")
	}
}

// A second raidswap is told about the first before anything else, here before the
// same-disk refusal; --dry-run does not need the lock.
func TestCLICloneTakesTheLock(t *testing.T) {
	needTool(t, host.Sgdisk)
	needTool(t, host.Flock)
	src := image(t, 64<<20, "-n1:2048:0", "-t1:fd00")
	lock := filepath.Join(t.TempDir(), "raidswap.lock")
	ctx, cancel := context.WithCancel(context.Background())
	holder := exec.CommandContext(ctx, host.Flock, "--exclusive", lock, "sleep", "60")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); holder.Wait() })
	for deadline := time.Now().Add(5 * time.Second); ; {
		if b, err := exec.Command(host.Flock, "--nonblock", lock, "true").CombinedOutput(); err != nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the holder did not take the lock: %s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	code, _, stderr := raidswap(t, "partition", "clone", "--from", src, "--to", src, "--backup-dir", t.TempDir(), "--lock", lock)
	if code != cli.ExitRefused || !strings.Contains(stderr, "another raidswap") || strings.Contains(stderr, "source disk") {
		t.Errorf("exit %d, stderr %q; want the lock refusal first", code, stderr)
	}
	code, _, stderr = raidswap(t, "partition", "clone", "--from", src, "--to", src, "--dry-run", "--backup-dir", t.TempDir(), "--lock", lock)
	if code != cli.ExitRefused || !strings.Contains(stderr, "it is the source disk") {
		t.Errorf("dry run: exit %d, stderr %q; want the same-disk refusal without the lock", code, stderr)
	}
}
