package plan

import "testing"

// ScenarioPlans builds the plan of every scenario of build_test.go, for render_test.go:
// that file is package plan_test because it renders through view, which imports plan.
func ScenarioPlans(t *testing.T) (names []string, plans []*Plan) {
	t.Helper()
	for _, sc := range scenarios {
		p, err := Build(sc.sys(), sc.req, testOpts)
		if err != nil {
			t.Fatalf("%s: %v", sc.name, err)
		}
		names, plans = append(names, sc.name), append(plans, p)
	}
	return names, plans
}

// BootPlans builds the seed's plan under boot layouts other than the scenarios' (GPT with
// /boot mounted): for boot_render_test.go's goldens.
func BootPlans(t *testing.T) (names []string, plans []*Plan) {
	t.Helper()
	for _, bc := range bootCases() {
		p, err := Build(bc.sys(), scenarios[0].req, testOpts)
		if err != nil {
			t.Fatalf("%s: %v", bc.name, err)
		}
		names, plans = append(names, bc.name), append(plans, p)
	}
	return names, plans
}
