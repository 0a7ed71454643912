package exec

import (
	"fmt"

	"github.com/raidswap/raidswap/internal/stream"
)

// noteSurvivorRenamed is the journal note of a resumed run that found the survivor under
// another kernel name.
const noteSurvivorRenamed = "survivor_renamed"

// followSurvivor: a resumed run may find the survivor under another kernel name than the
// plan's (a reboot between the runs: a swap with the power off, a power cut). The plan binds
// it by serial, so the run goes on with the plan renamed (plan.Renamed): its steps act on the
// name the serial has now, and every safety check still compares serials. It is said and
// journalled. A survivor that is not attached, or whose serial another disk shares, is left
// as the plan names it, and the steps' own checks refuse what they must.
func (r *run) followSurvivor() error {
	sv := r.p.Disks.Survivor
	if sv.Serial == "" {
		return nil
	}
	d := r.w.sys.DiskBySerial(sv.Serial)
	if d == nil || !d.Present || d.Name == sv.Device || r.w.sys.IdentityProblem(d) != "" {
		return nil
	}
	r.p = r.p.Renamed(sv.Serial, sv.Device, d.Name)
	return r.emit(stream.Record{Kind: stream.Note, Name: "renamed", Msg: "survivor renamed",
		Data: map[string]string{noteSurvivorRenamed: sv.Device + " -> " + d.Name, "serial": sv.Serial},
		Say: fmt.Sprintf("the survivor %s is now named %s (disks were renamed since the plan was built, at a reboot): its steps act on %s, found by its serial",
			sv.Label(), d.Name, d.Name)})
}
