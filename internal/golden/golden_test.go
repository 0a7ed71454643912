package golden

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCheckMatches(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.txt")
	if err := os.WriteFile(path, []byte("step 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	Check(t, path, []byte("step 1\n"))
}

func TestUpdateWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "dump.sfdisk")
	*update = true
	defer func() { *update = false }()
	Check(t, path, []byte("label: gpt\n"))
	if b, err := os.ReadFile(path); err != nil || string(b) != "label: gpt\n" {
		t.Errorf("under -update the file holds %q (%v)", b, err)
	}
}

func TestContains(t *testing.T) {
	Contains(t, "REDUNDANT OK\nCANARY OK\n", "CANARY OK", "REDUNDANT OK")
}
