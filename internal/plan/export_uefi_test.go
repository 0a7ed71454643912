package plan

import (
	"testing"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

// UEFIScenarioPlans are the UEFI plans of the seed layout, for render_uefi_test.go.
func UEFIScenarioPlans(t *testing.T) (names []string, plans []*Plan) {
	t.Helper()
	for _, sc := range []struct {
		name string
		kind bootloader.Kind
	}{{"uefi-every-disk", bootloader.UEFIESPEveryDisk}, {"uefi-rescue", bootloader.UEFIFromRescue}} {
		p, err := uefiPlan(t, plantest.Seed(), uefiSeedReq, uefiFacts(), sc.kind)
		if err != nil {
			t.Fatalf("%s: %v", sc.name, err)
		}
		names, plans = append(names, sc.name), append(plans, p)
	}
	return names, plans
}
