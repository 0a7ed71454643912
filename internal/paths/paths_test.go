package paths

import (
	"path/filepath"
	"testing"
)

func TestPaths(t *testing.T) {
	h := Host()
	want := Paths{Journal: "/var/lib/raidswap/journal", Lock: "/run/raidswap.lock", Key: "/var/lib/raidswap/plan.key",
		Audit: "/var/lib/raidswap/audit.jsonl", Backups: "/var/lib/raidswap/backups", Inventory: "/var/lib/raidswap/inventory.json"}
	if h != want {
		t.Errorf("Host() = %+v", h)
	}
	if (Paths{}).OrHost() != h {
		t.Error("an empty Paths is not the host's")
	}
	if got := (Paths{Key: "/k"}).OrHost(); got.Key != "/k" || got.Journal != h.Journal {
		t.Errorf("OrHost replaced a set field or left an empty one: %+v", got)
	}
	lab := Lab("/tmp/lab/")
	for _, p := range []string{lab.Journal, lab.Lock, lab.Key, lab.Audit, lab.Backups, lab.Inventory} {
		if filepath.Dir(p) != "/tmp/lab" {
			t.Errorf("%s is not in the lab", p)
		}
	}
	j := h.WithJournal("/srv/rs/journal/")
	if j.Journal != "/srv/rs/journal" || j.Audit != "/srv/rs/audit.jsonl" || j.Backups != "/srv/rs/backups" || j.Key != h.Key || j.Lock != h.Lock {
		t.Errorf("WithJournal = %+v", j)
	}
	if h.WithJournal(h.Journal) != h {
		t.Error("the host's own journal directory moved something")
	}
}
