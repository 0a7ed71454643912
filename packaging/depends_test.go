package packaging

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// recommended are the packages the control lists as Recommends: what only some hosts or some
// commands need (GRUB and its target modules, UEFI boot entries, locate LEDs, smartctl). Every
// other package of a tool raidswap runs is a Depends.
var recommended = map[string]bool{
	"grub2-common": true, "grub-pc-bin": true, "grub-efi-amd64-bin": true,
	"efibootmgr": true, "ledmon": true, "smartmontools": true,
}

// noToolReason are the packages the control may name although no path in tools.go is theirs.
var noToolReason = map[string]string{
	"grub-pc-bin":        "grub-install --target=i386-pc needs its modules (the drill's layout is a BIOS one)",
	"grub-efi-amd64-bin": "grub-install --target=x86_64-efi needs its modules",
	"smartmontools":      "raidswap's messages name `smartctl -a` when a disk's SMART could not be judged",
}

// testOnly says which tools.go paths no installed system has: tools of the VM harness.
func testOnly(path string) bool { return strings.HasPrefix(path, "/run/vmtest/") }

// toolPaths returns every absolute path constant of internal/host/tools.go, by name.
func toolPaths(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join("..", "internal", "host", "tools.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, v := range vs.Values {
			if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && strings.HasPrefix(s, "/") {
					paths[vs.Names[i].Name] = s
				}
			}
		}
		return true
	})
	if len(paths) < 10 {
		t.Fatalf("found only %d tool paths in tools.go: %v", len(paths), paths)
	}
	return paths
}

// relations reads a field of packaging/control (Depends, Recommends) as package names; every
// alternative of an "a | b" counts, version constraints are dropped.
func relations(control, field string) []string {
	var names []string
	for _, l := range strings.Split(control, "\n") {
		v, ok := strings.CutPrefix(l, field+":")
		if !ok || strings.HasPrefix(l, "#") {
			continue
		}
		for _, rel := range strings.Split(v, ",") {
			for _, alt := range strings.Split(rel, "|") {
				name, _, _ := strings.Cut(strings.TrimSpace(alt), " ")
				if name = strings.TrimSpace(name); name != "" {
					names = append(names, name)
				}
			}
		}
	}
	return names
}

// tool is one tools.go path and the package that holds it.
type tool struct {
	Const, Path, Package string
	Essential            bool
}

// checkControl returns what is wrong with depends and recommends for these tools: a tool whose
// package is listed nowhere (or in the wrong field), an Essential package declared, a package
// listed twice, or one that holds no tool and has no reason in noToolReason.
func checkControl(tools []tool, depends, recommends []string) []string {
	var bad []string
	in := map[string]string{}
	for _, field := range []struct {
		name string
		pkgs []string
	}{{"Depends", depends}, {"Recommends", recommends}} {
		for _, p := range field.pkgs {
			if prev, ok := in[p]; ok {
				bad = append(bad, fmt.Sprintf("%s is listed in %s and in %s", p, prev, field.name))
			}
			in[p] = field.name
		}
	}
	used := map[string]bool{}
	for _, tl := range tools {
		used[tl.Package] = true
		field := in[tl.Package]
		switch {
		case tl.Essential && field != "":
			bad = append(bad, fmt.Sprintf("%s (%s) is in Essential package %s, which %s must not name (Debian Policy 3.5)", tl.Const, tl.Path, tl.Package, field))
		case tl.Essential:
		case field == "":
			bad = append(bad, fmt.Sprintf("host.%s (%s) is in package %s, which packaging/control lists nowhere: add it to Depends (or, if only some hosts need it, to Recommends and to recommended in depends_test.go)", tl.Const, tl.Path, tl.Package))
		case recommended[tl.Package] && field != "Recommends":
			bad = append(bad, fmt.Sprintf("%s (for %s) is in %s; it is one of the recommended packages", tl.Package, tl.Path, field))
		case !recommended[tl.Package] && field != "Depends":
			bad = append(bad, fmt.Sprintf("%s (for %s) is in %s; raidswap needs it on every host: Depends", tl.Package, tl.Path, field))
		}
	}
	for p, field := range in {
		if !used[p] && noToolReason[p] == "" {
			bad = append(bad, fmt.Sprintf("%s (%s) holds none of the tools in internal/host/tools.go: drop it, or say why in noToolReason", p, field))
		}
		if noToolReason[p] != "" && field != "Recommends" {
			bad = append(bad, fmt.Sprintf("%s is in %s; it holds no tool raidswap runs, so at most Recommends", p, field))
		}
	}
	sort.Strings(bad)
	return bad
}

// owner is the Debian package holding path, across the /usr merge (as scripts/check-tools.sh
// finds it).
func owner(path string) string {
	cands := []string{path, strings.TrimPrefix(path, "/usr"), "/usr" + path}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		cands = append(cands, real, strings.TrimPrefix(real, "/usr"), "/usr"+real)
	}
	for _, p := range cands {
		out, err := exec.Command("dpkg", "-S", p).Output()
		if err != nil {
			continue
		}
		if pkg, _, ok := strings.Cut(strings.SplitN(string(out), "\n", 2)[0], ":"); ok && !strings.Contains(pkg, ",") {
			return strings.TrimSpace(pkg)
		}
	}
	return ""
}

// TestToolControlNamesEveryTool: packaging/control's Depends and Recommends are exactly the
// packages of the tools raidswap runs. Each path in internal/host/tools.go is looked up with
// dpkg -S on this machine (scripts/install-deps.sh installs all of them), so a tool added to
// tools.go whose package the control does not list fails here.
func TestToolControlNamesEveryTool(t *testing.T) {
	need(t, "dpkg")
	need(t, "dpkg-query")
	b, err := os.ReadFile("control")
	if err != nil {
		t.Fatal(err)
	}
	var tools []tool
	for name, path := range toolPaths(t) {
		if testOnly(path) {
			continue
		}
		pkg := owner(path)
		if pkg == "" {
			t.Errorf("host.%s (%s): no installed package holds it; install its package through scripts/install-deps.sh and list it in packaging/control", name, path)
			continue
		}
		ess, _ := exec.Command("dpkg-query", "-W", "-f=${Essential}", pkg).Output()
		tools = append(tools, tool{Const: name, Path: path, Package: pkg, Essential: string(ess) == "yes"})
	}
	sort.Slice(tools, func(i, j int) bool { return tools[i].Const < tools[j].Const })
	for _, tl := range tools {
		t.Logf("%-22s %-34s %s%s", tl.Const, tl.Path, tl.Package, map[bool]string{true: " (Essential)"}[tl.Essential])
	}
	for _, p := range checkControl(tools, relations(string(b), "Depends"), relations(string(b), "Recommends")) {
		t.Error(p)
	}
}

// TestCheckControl proves the check fails on what it must find.
func TestCheckControl(t *testing.T) {
	base := []tool{
		{Const: "Mdadm", Path: "/sbin/mdadm", Package: "mdadm"},
		{Const: "GrubInstall", Path: "/usr/sbin/grub-install", Package: "grub2-common"},
		{Const: "Dd", Path: "/bin/dd", Package: "coreutils", Essential: true},
	}
	deps, recs := []string{"mdadm"}, []string{"grub2-common", "grub-pc-bin"}
	if bad := checkControl(base, deps, recs); len(bad) != 0 {
		t.Fatalf("a consistent control: %v", bad)
	}
	for name, c := range map[string]struct {
		tools      []tool
		deps, recs []string
		want       string
	}{
		"a new tool":                  {append(base, tool{Const: "Cryptsetup", Path: "/sbin/cryptsetup", Package: "cryptsetup-bin"}), deps, recs, "host.Cryptsetup (/sbin/cryptsetup) is in package cryptsetup-bin, which packaging/control lists nowhere"},
		"a required tool recommended": {base, nil, append(recs, "mdadm"), "mdadm (for /sbin/mdadm) is in Recommends"},
		"grub required":               {base, append(deps, "grub2-common"), []string{"grub-pc-bin"}, "grub2-common (for /usr/sbin/grub-install) is in Depends"},
		"an essential package":        {base, append(deps, "coreutils"), recs, "Essential package coreutils"},
		"a package for no tool":       {base, append(deps, "lvm2"), recs, "lvm2 (Depends) holds none of the tools"},
		"listed twice":                {base, append(deps, "grub-pc-bin"), recs, "grub-pc-bin is listed in Depends and in Recommends"},
	} {
		bad := checkControl(c.tools, c.deps, c.recs)
		if !strings.Contains(strings.Join(bad, "\n"), c.want) {
			t.Errorf("%s: want %q among %q", name, c.want, bad)
		}
	}
	if got := relations("# Depends: x\nDepends: a (>= 1), b | c,d\nRecommends: e\n", "Depends"); strings.Join(got, " ") != "a b c d" {
		t.Errorf("relations: %q", got)
	}
}
