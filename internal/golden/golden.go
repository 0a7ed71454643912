// Package golden holds the checks tests make on what raidswap printed: golden files under
// testdata, and the lines an output (most often a VM guest's) must contain. Every test in the
// repository uses it for both, so there is one way to write them and one flag to refresh them.
//
// Golden files: Check compares output with a file; a test run with -update writes the files
// instead (`go test ./partition -run TestClone -update`). The flag is registered here, once
// for every test binary that imports this package: a test package must not define its own
// -update. A test that refreshes other captured data under testdata (discover's VM
// scenarios write their captures as fixtures) asks Update.
//
// Output: Contains fails the test for every wanted string missing from an output and then
// logs the output once. It does not log the VM console: vmtest.RunT does that on failure.
//
// It only reads and writes files a test names; it runs nothing.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files (and captured fixtures) under testdata instead of comparing with them")

// Update says whether the test binary runs with -update.
func Update() bool { return *update }

// Check compares got with the file at path, or writes got there under -update.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (rerun the test with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (rerun with -update if the change is intended):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// Contains fails the test for each of want that out does not contain, and logs out once
// when one is missing.
func Contains(t testing.TB, out string, want ...string) {
	t.Helper()
	missing := false
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q", w)
			missing = true
		}
	}
	if missing {
		t.Logf("output:\n%s", out)
	}
}
