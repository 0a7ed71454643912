package exec

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host/hosttest"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

// badSMARTWorld is the seed whose new disk, inserted after the pull, reports 8 reallocated
// and 2 pending sectors by SMART.
func badSMARTWorld() *plantest.World {
	w := plantest.NewWorld(plantest.Seed())
	w.When(func(s *discover.System) bool {
		d := s.DiskBySerial(plantest.Old)
		return d != nil && len(d.Members) == 0
	},
		func(w *plantest.World) { w.Pull(plantest.Old) })
	w.When(func(s *discover.System) bool { return s.DiskBySerial(plantest.Old) == nil },
		func(w *plantest.World) {
			d := plantest.BlankDisk("vdb", plantest.New)
			r, p := uint64(8), uint64(2)
			d.SMART = &identify.Health{State: identify.SMARTWarning, Protocol: "ata", Reallocated: &r, Pending: &p,
				Reasons: []string{"8 reallocated sectors (attribute 5)", "2 pending sectors (attribute 197)"}}
			w.Insert(d)
		})
	return w
}

// TestNewDiskSMART: the executor applies CheckNewDisk's SMART rule when the new disk appears
// (it was not attached when the plan was built): refused before anything is written to it
// by a plan made without --accept-new-disk-smart, taken by one made with it, and by a
// resume that accepts it (journalled).
func TestNewDiskSMART(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		w := badSMARTWorld()
		p := build(t, w.Sys(), seedReq())
		r := hosttest.NewFakeRunner(t, seedExpect(w)[:3]...)
		_, err := Apply(context.Background(), p, options(t, w, r, t.TempDir()))
		var re *RefusedError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), "refusing to write /dev/vdb (WD-NEW): it reports 8 reallocated, 2 pending sectors by its own SMART") ||
			!strings.Contains(err.Error(), "raidswap resume --accept-new-disk-smart") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("plan accepts", func(t *testing.T) {
		w := badSMARTWorld()
		req := seedReq()
		req.AcceptNewDiskSMART = true
		p := build(t, w.Sys(), req)
		r := hosttest.NewFakeRunner(t, seedExpect(w)...)
		if _, err := Apply(context.Background(), p, options(t, w, r, t.TempDir())); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("resume accepts", func(t *testing.T) {
		w := badSMARTWorld()
		p := build(t, w.Sys(), seedReq())
		dir := t.TempDir()
		r := hosttest.NewFakeRunner(t, seedExpect(w)...)
		o := options(t, w, r, dir)
		if _, err := Apply(context.Background(), p, o); err == nil {
			t.Fatal("the first run took the disk")
		}
		o.AcceptSMART = true
		res, err := Apply(context.Background(), p, o)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := journal.Load(res.Journal)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, rec := range recs {
			found = found || (rec.Event == journal.EventNote && rec.Data["new_disk_smart_accepted"] == plantest.New &&
				rec.Data["new_disk_smart_accepted_by"] == "resume --accept-new-disk-smart")
		}
		if !found {
			t.Error("the journal does not record the acceptance")
		}
	})
}
