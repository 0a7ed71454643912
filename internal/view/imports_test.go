package view

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"testing"
)

// TestViewImportsNothingAbove: the renderer sits above nothing that runs: it takes the run's
// types from internal/progress and never imports the executor, the engine or a front end
// (its tests included).
func TestViewImportsNothingAbove(t *testing.T) {
	above := map[string]bool{}
	for _, p := range []string{"internal/exec", "internal/engine", "internal/cli", "internal/wizard", "internal/drill"} {
		above["github.com/raidswap/raidswap/"+p] = true
	}
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("the package's files: %v %v", files, err)
	}
	for _, f := range files {
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); above[p] {
				t.Errorf("%s imports %s: view renders what it is given and must not depend on it", f, p)
			}
		}
	}
}
