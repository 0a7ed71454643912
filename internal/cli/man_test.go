package cli

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/event"
	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/inventory"
	"github.com/raidswap/raidswap/internal/paths"
)

// TestManMakesItsDirectory is `make man` on a fresh clone: man/ does not exist yet.
func TestManMakesItsDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "man")
	code, out, errOut := run(t, "man", "--dir", dir)
	if code != 0 {
		t.Fatalf("raidswap man --dir %s: exit %d\nstdout: %s\nstderr: %s", dir, code, out, errOut)
	}
	for _, page := range []string{"raidswap.8", "raidswap-abort.8", "raidswap-status.8"} {
		if _, err := os.Stat(filepath.Join(dir, page)); err != nil {
			t.Errorf("%s not written: %v", page, err)
		}
	}
}

// writeMan runs `raidswap man` into a temporary directory and returns it.
func writeMan(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if code, out, errOut := run(t, "man", "--dir", dir); code != 0 {
		t.Fatalf("raidswap man: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	return dir
}

func readPage(t *testing.T, dir, page string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, page))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestManPagesWritten: a page for every command the package ships, none for the completion
// scripts it does not.
func TestManPagesWritten(t *testing.T) {
	dir := writeMan(t)
	for _, tt := range []struct {
		page string
		want bool
	}{
		{"raidswap.8", true},
		{"raidswap-locate.8", true},
		{"raidswap-partition-clone.8", true},
		{"raidswap-completion.8", true},
		{"raidswap-completion-bash.8", true},
		{"raidswap-completion-zsh.8", true},
		{"raidswap-completion-fish.8", false},
		{"raidswap-completion-powershell.8", false},
		{"raidswap-man.8", false},
		{"raidswap-help.8", false},
	} {
		_, err := os.Stat(filepath.Join(dir, tt.page))
		if got := err == nil; got != tt.want {
			t.Errorf("%s written: %v, want %v", tt.page, got, tt.want)
		}
	}
	if c := readPage(t, dir, "raidswap-completion.8"); strings.Contains(c, "fish") || strings.Contains(c, "powershell") {
		t.Errorf("raidswap-completion(8) names a completion the package does not ship:\n%s", c)
	}
}

// TestManSections: every page has EXIT STATUS and FILES, between OPTIONS and SEE ALSO
// (man-pages(7)'s order), and raidswap(8) says the command alone is the wizard.
func TestManSections(t *testing.T) {
	dir := writeMan(t)
	pages, _ := filepath.Glob(filepath.Join(dir, "*.8"))
	if len(pages) < 15 {
		t.Fatalf("%d pages", len(pages))
	}
	for _, p := range pages {
		page := readPage(t, dir, filepath.Base(p))
		at := func(h string) int { return strings.Index(page, "\n.SH "+h+"\n") }
		exit, files, see := at("EXIT STATUS"), at("FILES"), at("SEE ALSO")
		if exit < 0 || files < 0 || see < 0 || !(exit < files && files < see) {
			t.Errorf("%s: EXIT STATUS at %d, FILES at %d, SEE ALSO at %d", filepath.Base(p), exit, files, see)
		}
		if opt := at("OPTIONS"); opt > exit {
			t.Errorf("%s: EXIT STATUS before OPTIONS", filepath.Base(p))
		}
		if ex := at("EXAMPLE"); ex >= 0 && ex < files {
			t.Errorf("%s: EXAMPLE before FILES", filepath.Base(p))
		}
	}
	root := readPage(t, dir, "raidswap.8")
	desc, opts := strings.Index(root, ".SH DESCRIPTION"), strings.Index(root, ".SH OPTIONS")
	if w := strings.Index(root, `\fBraidswap\fP starts the wizard`); w < desc || w > opts {
		t.Errorf("raidswap(8)'s DESCRIPTION does not say that raidswap alone starts the wizard:\n%s", root[:opts])
	}
}

// TestManSectionsGolden pins the EXIT STATUS and FILES text (go test -update rewrites it).
func TestManSectionsGolden(t *testing.T) {
	golden.Check(t, filepath.Join("testdata", "man-sections.roff"), []byte(manExitStatus()+manFilesSection()))
}

// TestManExitStatusCoversEveryCode: every Exit constant of the package has its row, read
// from the source so a new code cannot be added without one.
func TestManExitStatusCoversEveryCode(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared, inTable := map[string]bool{}, map[string]bool{}
	exitName := regexp.MustCompile(`^Exit[A-Z]`)
	for _, f := range pkgs["cli"].Files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GenDecl:
				if n.Tok == token.CONST {
					for _, s := range n.Specs {
						for _, id := range s.(*ast.ValueSpec).Names {
							if exitName.MatchString(id.Name) {
								declared[id.Name] = true
							}
						}
					}
				}
			case *ast.ValueSpec:
				if len(n.Names) == 1 && n.Names[0].Name == "exitStatuses" {
					ast.Inspect(n, func(m ast.Node) bool {
						if id, ok := m.(*ast.Ident); ok && exitName.MatchString(id.Name) {
							inTable[id.Name] = true
						}
						return true
					})
				}
			}
			return true
		})
	}
	if len(declared) < 8 {
		t.Fatalf("found only %v", declared)
	}
	var missing []string
	for name := range declared {
		if !inTable[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("exit codes without a row in exitStatuses (man.go): %v", missing)
	}
	seen := map[int]bool{}
	for _, e := range exitStatuses {
		if seen[e.code] {
			t.Errorf("exit code %d has two rows", e.code)
		}
		seen[e.code] = true
	}
}

// TestManFilesAreTheCodesPaths: the audit log the page names is the one the executor
// writes next to its journals.
func TestManFilesAreTheCodesPaths(t *testing.T) {
	if got := paths.Host().Audit; got != event.DefaultAuditLog {
		t.Errorf("the executor's audit log is %s, the event hook's %s", got, event.DefaultAuditLog)
	}
	if got := paths.Host().Inventory; got != inventory.Path {
		t.Errorf("the engine's inventory is %s, discovery reads %s", got, inventory.Path)
	}
}

// TestShippedCompletionsArePackaged: shippedCompletions is what build-deb.sh installs.
func TestShippedCompletionsArePackaged(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "packaging", "build-deb.sh"))
	if err != nil {
		t.Fatal(err)
	}
	var shells []string
	for _, m := range regexp.MustCompile(`(?m)^"\$rs" completion (\w+) `).FindAllStringSubmatch(string(b), -1) {
		shells = append(shells, m[1])
	}
	sort.Strings(shells)
	want := append([]string(nil), shippedCompletions...)
	sort.Strings(want)
	if strings.Join(shells, " ") != strings.Join(want, " ") {
		t.Errorf("build-deb.sh ships completions %v, man pages are written for %v", shells, want)
	}
}
