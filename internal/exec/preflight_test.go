package exec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/host/hosttest"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

// rhelTree is a system root with RHEL's os-release and the given programs (path -> mode).
func rhelTree(t *testing.T, progs map[string]os.FileMode) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]os.FileMode{"etc/os-release": 0o644}
	for p, m := range progs {
		files[p] = m
	}
	for p, m := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		body := "#!/bin/sh\n"
		if p == "etc/os-release" {
			body = "NAME=\"Red Hat Enterprise Linux\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\n"
		}
		if err := os.WriteFile(full, []byte(body), m); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestPreflight: the plan's first step refuses a run whose programs (as the live profile
// names them: grub2-install on RHEL, efibootmgr in /usr/sbin) are not all executable files,
// in one line naming the program and its package, before any command ran; with every
// program there it passes.
func TestPreflight(t *testing.T) {
	all := map[string]os.FileMode{"usr/sbin/mdadm": 0o755, "usr/sbin/swapoff": 0o755, "usr/sbin/swapon": 0o755,
		"usr/sbin/mkswap": 0o755, "usr/sbin/grub2-install": 0o755}
	without := func(p string, mode os.FileMode) map[string]os.FileMode {
		m := map[string]os.FileMode{}
		for k, v := range all {
			m[k] = v
		}
		if mode == 0 {
			delete(m, p)
		} else {
			m[p] = mode
		}
		return m
	}
	for _, tc := range []struct {
		name  string
		progs map[string]os.FileMode
		want  string // "" passes
	}{
		{"every program there", all, ""},
		{"grub2-install missing", without("usr/sbin/grub2-install", 0),
			"refusing step 01-preflight: /usr/sbin/grub2-install, which this plan runs, does not exist or is not executable: install grub2-tools (rhel family) and run raidswap again"},
		{"mdadm not executable", without("usr/sbin/mdadm", 0o644),
			"refusing step 01-preflight: /usr/sbin/mdadm, which this plan runs, does not exist or is not executable: install mdadm (rhel family)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tree := rhelTree(t, all)
			sys := plantest.Seed()
			sys.Root = tree
			sys.Host.Profile = host.DetectProfile(host.NewRoot(tree))
			sys.Host.Profile.Live = true
			w := plantest.NewWorld(sys)
			p := build(t, w.Sys(), seedReq())
			if p.Steps[0].Action != plan.ActionPreflight || !strings.Contains(p.Steps[0].Reason, "/usr/sbin/grub2-install") {
				t.Fatalf("first step %s: %s", p.Steps[0].ID, p.Steps[0].Reason)
			}
			// The programs change between the plan and the run.
			for _, p := range []string{"usr/sbin/mdadm", "usr/sbin/grub2-install"} {
				os.Remove(filepath.Join(tree, p))
			}
			rhelTree2(t, tree, tc.progs)
			r := hosttest.NewFakeRunner(t) // any command fails the test
			o := options(t, w, r, t.TempDir())
			o.StopAfter = p.Steps[0].ID
			res, err := Apply(context.Background(), p, o)
			if tc.want == "" {
				if !errors.Is(err, ErrStopped) {
					t.Fatalf("err = %v, want the preflight to pass", err)
				}
				return
			}
			var re *RefusedError
			if !errors.As(err, &re) || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v\nwant one line starting %q", err, tc.want)
			}
			if len(res.Ran) != 0 {
				t.Errorf("ran %v", res.Ran)
			}
			recs, lerr := journal.Load(res.Journal)
			if lerr != nil {
				t.Fatal(lerr)
			}
			if last := recs[len(recs)-1]; last.Event != journal.EventRefused || last.Step != p.Steps[0].ID {
				t.Errorf("journal ends with %+v", last)
			}
		})
	}
}

// rhelTree2 adds programs to an existing tree.
func rhelTree2(t *testing.T, dir string, progs map[string]os.FileMode) {
	t.Helper()
	for p, m := range progs {
		full := filepath.Join(dir, p)
		os.Remove(full)
		if err := os.WriteFile(full, []byte("#!/bin/sh\n"), m); err != nil {
			t.Fatal(err)
		}
	}
}

// TestApplyDerivesProgramsFromTheLiveProfile: a plan file is untrusted; its stored commands
// must be the ones the live system's profile gives. A plan whose grub-install step names
// Debian's program is refused on an RHEL system (and the other way round), before anything
// runs.
func TestApplyDerivesProgramsFromTheLiveProfile(t *testing.T) {
	tree := rhelTree(t, map[string]os.FileMode{"usr/sbin/grub2-install": 0o755})
	rhel := host.DetectProfile(host.NewRoot(tree))
	for _, tc := range []struct {
		name        string
		built, live host.Profile
	}{
		{"debian plan on rhel", host.Profile{}, rhel},
		{"rhel plan on debian", rhel, host.Profile{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys := plantest.Seed()
			sys.Host.Profile = tc.built
			p := build(t, sys, seedReq())
			live := plantest.Seed()
			live.Host.Profile = tc.live
			w := plantest.NewWorld(live)
			r := hosttest.NewFakeRunner(t)
			_, err := Apply(context.Background(), p, options(t, w, r, t.TempDir()))
			var inv *plan.InvalidError
			if !errors.As(err, &inv) || !strings.Contains(err.Error(), "grub") || !strings.Contains(err.Error(), "is not the one its action and operands give") {
				t.Fatalf("err = %v, want the grub step refused", err)
			}
		})
	}
}
