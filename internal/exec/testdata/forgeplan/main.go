// forgeplan is the adversary of the executor's VM tests: it edits a saved plan the way a
// person with write access to the file would, and re-seals it, either with the unkeyed
// SHA-256 an older raidswap used or with this host's plan key (as root could). It lives under
// testdata so that no build of raidswap contains it.
//
//	forgeplan -in PLAN -out PLAN -edit boot-dd|detach-noargs -seal sha256|key [-key PATH]
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/raidswap/raidswap/internal/paths"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/plankey"
)

func main() {
	in := flag.String("in", "", "plan file to edit")
	out := flag.String("out", "", "where to write the forged plan")
	edit := flag.String("edit", "boot-dd", "boot-dd: the survivor's boot step zeroes its GPT; detach-noargs: a detach step without a device")
	seal := flag.String("seal", "sha256", "sha256 (unkeyed) or key (this host's plan key)")
	keyPath := flag.String("key", paths.Host().Key, "the plan key, for -seal key")
	flag.Parse()
	if err := run(*in, *out, *edit, *seal, *keyPath); err != nil {
		fmt.Fprintln(os.Stderr, "forgeplan:", err)
		os.Exit(1)
	}
}

func run(in, out, edit, seal, keyPath string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var p plan.Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	done := false
	for i := range p.Steps {
		s := &p.Steps[i]
		switch {
		case edit == "boot-dd" && s.Action == plan.ActionBootloader && s.Target.Serial == p.Disks.Survivor.Serial:
			s.Argv = []string{"/bin/dd", "if=/dev/zero", "of=/dev/" + p.Disks.Survivor.Device, "bs=512", "count=34", "conv=fsync"}
			done = true
		case edit == "detach-noargs" && s.Action == plan.ActionDetach && !done:
			s.Argv = []string{"/sbin/mdadm", "/dev/" + s.Target.Array, "--stop"}
			s.Target.Device = ""
			done = true
		}
	}
	if !done {
		return fmt.Errorf("no step to edit for %s", edit)
	}
	switch seal {
	case "sha256":
		p.Checksum = ""
		c, err := json.Marshal(&p)
		if err != nil {
			return err
		}
		h := sha256.Sum256(c)
		p.Checksum = "sha256:" + hex.EncodeToString(h[:])
	case "key":
		key, err := plankey.Load(keyPath)
		if err != nil {
			return err
		}
		if err := p.Seal(key); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown -seal %q", seal)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	return p.Write(f)
}
