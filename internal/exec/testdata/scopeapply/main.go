// scopeapply runs a saved plan through the executor confined to a drill's lab, the way the
// drill runs its replacements, for TestVMScopeRefusesHostDisk. It lives under testdata so
// that no build of raidswap contains it.
//
//	scopeapply -mode exec|engine|discover -lab DIR [-plan FILE]
//
// exec: exec.Apply with the host's (unscoped) discovery and Options.Scope = the lab: the
// executor alone must refuse. engine: engine.Env with Scope = the lab, as the drill wires it
// (discovery and executor both confined). discover: print what the scoped discovery sees.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/engine"
	"github.com/raidswap/raidswap/internal/exec"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/paths"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/plankey"
)

func main() {
	mode := flag.String("mode", "exec", "exec, engine or discover")
	lab := flag.String("lab", "", "the drill's lab directory")
	planFile := flag.String("plan", "", "the saved plan (exec, engine)")
	flag.Parse()
	sc := &discover.Scope{Lab: *lab, BootMount: filepath.Join(*lab, "boot")}
	if err := run(*mode, sc, *planFile); err != nil {
		fmt.Println("scopeapply:", err)
		var re *exec.RefusedError
		if errors.As(err, &re) {
			fmt.Printf("REFUSED step=%s device=%s serial=%s\n", re.Step, re.Device, re.Serial)
		}
		os.Exit(1)
	}
}

func run(mode string, sc *discover.Scope, planFile string) error {
	root := host.NewRoot("/")
	runner := host.ExecRunner{}
	dir, err := os.MkdirTemp("", "scopeapply-")
	if err != nil {
		return err
	}
	env := &engine.Env{Root: root, Runner: runner, Scope: sc, Paths: paths.Paths{
		Journal: filepath.Join(dir, "journal"), Lock: filepath.Join(dir, "lock"), Backups: filepath.Join(dir, "backups")}}
	if mode == "discover" {
		sys, err := env.Discover()
		if err != nil {
			return err
		}
		for _, d := range sys.Disks {
			fmt.Printf("disk %s %s drill=%s present=%v\n", d.Name, d.Serial, d.Drill, d.Present)
		}
		for _, a := range sys.Arrays {
			fmt.Printf("array %s %s drill=%s\n", a.Name, a.State, a.Drill)
		}
		fmt.Printf("verdict %s: %s\n", sys.Verdict, sys.Summary)
		return nil
	}
	key, err := plankey.Load(paths.Host().Key)
	if err != nil {
		return err
	}
	f, err := os.Open(planFile)
	if err != nil {
		return err
	}
	p, err := plan.Read(f, key)
	f.Close()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	switch mode {
	case "exec":
		_, err = exec.Apply(ctx, p, exec.Options{
			Discover:    func() (*discover.System, error) { return discover.Discover(root) },
			Runner:      runner,
			Cloner:      engine.PartitionCloner{Root: root, Runner: runner},
			Speed:       exec.ProcSpeed{Root: root},
			Paths:       env.Paths,
			Key:         key,
			WaitTimeout: 10 * time.Second,
			Scope:       sc,
		})
	case "engine":
		lock, lerr := env.Lock()
		if lerr != nil {
			return lerr
		}
		defer lock.Release()
		_, err = env.Apply(ctx, p, lock, nil, engine.RunOptions{WaitTimeout: 10 * time.Second})
	default:
		return fmt.Errorf("unknown -mode %q", mode)
	}
	if err == nil {
		return errors.New("the plan ran under the drill's scope")
	}
	return err
}
