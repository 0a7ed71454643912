package partition_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/cli"
	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/partition"
)

// The command as an operator runs it: exit codes, --dry-run, --json.

// image is an image file of size bytes, partitioned by sgdisk with sgdiskArgs if any.
func image(t *testing.T, size int64, sgdiskArgs ...string) string {
	t.Helper()
	if len(sgdiskArgs) > 0 {
		return partition.SgdiskImage(t, t.TempDir(), "disk.img", size, sgdiskArgs...)
	}
	p := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, size); err != nil {
		t.Fatal(err)
	}
	return p
}

func raidswap(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(&cli.Factory{IO: &cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb}}, args)
	return code, out.String(), errb.String()
}

func TestCLIPartitionClone(t *testing.T) {
	if _, err := os.Stat(host.Sgdisk); err != nil {
		t.Skip("sgdisk not installed")
	}
	src := image(t, 256<<20, "-n1:2048:+1M", "-t1:ef02", "-n2:0:+100M", "-t2:fd00", "-n3:0:0", "-t3:fd00")
	backups := t.TempDir()

	t.Run("too small: exit 65, target unchanged", func(t *testing.T) {
		dst := image(t, 128<<20)
		before := partition.ContentSum(t, dst)
		code, _, stderr := raidswap(t, "partition", "clone", "--from", src, "--to", dst, "--backup-dir", backups)
		if code != cli.ExitRefused {
			t.Errorf("exit %d, want %d; stderr %s", code, cli.ExitRefused, stderr)
		}
		if !strings.Contains(stderr, "refusing to write "+dst+": it is too small") {
			t.Errorf("stderr %q", stderr)
		}
		if partition.ContentSum(t, dst) != before {
			t.Error("target changed")
		}
	})

	t.Run("dry run writes nothing and shows both layouts", func(t *testing.T) {
		dst := image(t, 512<<20)
		before := partition.ContentSum(t, dst)
		code, out, stderr := raidswap(t, "partition", "clone", "--from", src, "--to", dst, "--dry-run", "--to-physical-sector-size", "4096", "--backup-dir", backups)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		golden.Contains(t, out, "SOURCE START", "TARGET START", "Linux RAID", "Dry run: nothing was written", "Free after the last partition")
		if partition.ContentSum(t, dst) != before {
			t.Error("dry run changed the target")
		}
	})

	t.Run("json", func(t *testing.T) {
		dst := image(t, 512<<20)
		code, out, stderr := raidswap(t, "partition", "clone", "--from", src, "--to", dst, "--json", "--backup-dir", backups, "--lock", filepath.Join(t.TempDir(), "lock"))
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var doc struct {
			Version  int  `json:"version"`
			Verified bool `json:"verified"`
			Layout   struct {
				Partitions []struct {
					Number int   `json:"number"`
					Start  int64 `json:"start_bytes"`
				} `json:"partitions"`
				FreeBytes int64 `json:"free_bytes"`
			} `json:"layout"`
			Backups []string `json:"backups"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if doc.Version != 1 || !doc.Verified || len(doc.Layout.Partitions) != 3 || doc.Layout.FreeBytes < 256<<20 || len(doc.Backups) != 2 {
			t.Errorf("json document %+v", doc)
		}
	})

	t.Run("json refusal carries the kind and shortfall", func(t *testing.T) {
		dst := image(t, 128<<20)
		code, out, _ := raidswap(t, "partition", "clone", "--from", src, "--to", dst, "--json", "--backup-dir", backups, "--lock", filepath.Join(t.TempDir(), "lock"))
		var doc struct {
			Error struct {
				Refusal   string `json:"refusal"`
				Shortfall int64  `json:"shortfall_bytes"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		if code != cli.ExitRefused || doc.Error.Refusal != "too-small" || doc.Error.Shortfall <= 0 {
			t.Errorf("exit %d, %+v", code, doc)
		}
	})

	t.Run("missing --to is a usage error", func(t *testing.T) {
		if code, _, _ := raidswap(t, "partition", "clone", "--from", src); code != cli.ExitUsage {
			t.Errorf("exit %d", code)
		}
	})
}
