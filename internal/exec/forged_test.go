package exec

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/host/hosttest"
	"github.com/raidswap/raidswap/internal/plan"
)

// unkeyedReseal is what an attacker without the host's plan key can do to an edited plan:
// compute the old unkeyed SHA-256 checksum again.
func unkeyedReseal(t *testing.T, p *plan.Plan) {
	t.Helper()
	p.Checksum = ""
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	p.Checksum = "sha256:" + hex.EncodeToString(h[:])
}

// TestApplyRefusesForgedPlans: a plan is untrusted input. Whatever a file says a step runs,
// apply runs only the command derived from the step's typed operands, and a plan this host
// did not seal never starts. The fake runner fails the test on any command at all.
func TestApplyRefusesForgedPlans(t *testing.T) {
	stepIndex := func(p *plan.Plan, a plan.Action) int {
		for i, s := range p.Steps {
			if s.Action == a && len(s.Argv) > 0 {
				return i
			}
		}
		t.Fatalf("no %s step", a)
		return -1
	}
	tests := []struct {
		name  string
		forge func(p *plan.Plan)
		key   []byte // reseal with this key; nil: unkeyed SHA-256
		want  string
	}{
		{"boot step running dd over the survivor, resealed without the key", func(p *plan.Plan) {
			p.Steps[stepIndex(p, plan.ActionBootloader)].Argv = []string{"/bin/dd", "if=/dev/zero", "of=/dev/vda", "bs=1M", "count=1"}
		}, nil, "not sealed with a plan key"},
		{"boot step running dd over the survivor, resealed with the key", func(p *plan.Plan) {
			p.Steps[stepIndex(p, plan.ActionBootloader)].Argv = []string{"/bin/dd", "if=/dev/zero", "of=/dev/vda", "bs=1M", "count=1"}
		}, testKey, `its command "/bin/dd if=/dev/zero of=/dev/vda bs=1M count=1" is not the one its action and operands give`},
		{"detach step whose argv names no device", func(p *plan.Plan) {
			p.Steps[stepIndex(p, plan.ActionDetach)].Argv = []string{"/sbin/mdadm", "/dev/md0", "--stop"}
		}, testKey, "is not the one its action and operands give"},
		{"mkswap step marked in-process so no check runs", func(p *plan.Plan) {
			i := stepIndex(p, plan.ActionMkswap)
			p.Steps[i].InProcess = true
		}, testKey, "in_process=true does not fit action mkswap"},
		{"add step aimed at a path", func(p *plan.Plan) {
			i := stepIndex(p, plan.ActionAddMember)
			p.Steps[i].Target.Device = "../vda2"
			p.Steps[i].Argv = []string{"/sbin/mdadm", "/dev/md0", "--add", "/dev/../vda2"}
		}, testKey, `device "../vda2" is not a kernel name`},
		{"array name with a path", func(p *plan.Plan) {
			i := stepIndex(p, plan.ActionDetach)
			p.Steps[i].Target.Array = "md0 --zero-superblock"
		}, testKey, "is not an md array name"},
		{"unknown action", func(p *plan.Plan) {
			p.Steps[0].Action = "format-everything"
		}, testKey, `action "format-everything" is unknown`},
		{"repeated step ID", func(p *plan.Plan) {
			p.Steps[1].ID = p.Steps[0].ID
		}, testKey, "is empty or repeated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := seedWorld()
			p := build(t, w.Sys(), seedReq())
			tt.forge(p)
			if tt.key == nil {
				unkeyedReseal(t, p)
			} else if err := p.Seal(tt.key); err != nil {
				t.Fatal(err)
			}
			r := hosttest.NewFakeRunner(t) // any command fails the test
			_, err := Apply(context.Background(), p, options(t, w, r, t.TempDir()))
			var ie *plan.InvalidError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a refused plan containing %q", err, tt.want)
			}
		})
	}
}

// TestApplyRefusesForeignKey: a plan sealed by another host's key is refused even when its
// machine-id was set to this host's.
func TestApplyRefusesForeignKey(t *testing.T) {
	w := seedWorld()
	p := build(t, w.Sys(), seedReq())
	if err := p.Seal([]byte("another host's plan key, 32 byte")); err != nil {
		t.Fatal(err)
	}
	_, err := Apply(context.Background(), p, options(t, w, hosttest.NewFakeRunner(t), t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), "its seal does not match its content under this host's plan key") {
		t.Fatalf("err = %v", err)
	}
}
