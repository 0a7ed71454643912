// Package paths is where raidswap keeps what it writes: the journal, the lock, the plan key,
// the audit log, the backups and the inventory. One Paths value says it for the host or for
// a drill's lab, and every package takes it from there (engine.Env carries it).
package paths

import "path/filepath"

// StateDir is raidswap's state directory on a server.
const StateDir = "/var/lib/raidswap"

// HostLock is the lock every raidswap that acts on the host takes: in /run, so a reboot
// clears it with the processes that held it.
const HostLock = "/run/raidswap.lock"

// The names Under gives inside a state directory.
const (
	JournalName   = "journal"
	AuditName     = "audit.jsonl"
	KeyName       = "plan.key"
	LockName      = "raidswap.lock"
	InventoryName = "inventory.json"
	BackupsName   = "backups"
)

// Paths is where one raidswap (the host's, or a drill's in its lab) keeps its files.
type Paths struct {
	Journal   string // the directory of journals, one per plan
	Lock      string // the lock that keeps two raidswaps apart
	Key       string // the plan key that seals plans
	Audit     string // the JSON audit log: one line per action and per mdadm event
	Backups   string // both partition tables before a clone, the survivor's boot code
	Inventory string // every disk's serial, model and bay
}

// Under is every path inside the state directory dir (the lock too).
func Under(dir string) Paths {
	dir = filepath.Clean(dir)
	return Paths{
		Journal:   filepath.Join(dir, JournalName),
		Lock:      filepath.Join(dir, LockName),
		Key:       filepath.Join(dir, KeyName),
		Audit:     filepath.Join(dir, AuditName),
		Backups:   filepath.Join(dir, BackupsName),
		Inventory: filepath.Join(dir, InventoryName),
	}
}

// Host is where raidswap keeps its files on a server: under StateDir, the lock in /run.
func Host() Paths {
	p := Under(StateDir)
	p.Lock = HostLock
	return p
}

// Lab is where a drill keeps its files: every one inside its lab directory, so the lab's
// teardown removes them with it.
func Lab(dir string) Paths { return Under(dir) }

// WithJournal moves the journal to dir (--journal-dir) and, beside it as on a server, the
// audit log and the backups.
func (p Paths) WithJournal(dir string) Paths {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	p.Journal = dir
	p.Audit = filepath.Join(parent, AuditName)
	p.Backups = filepath.Join(parent, BackupsName)
	return p
}

// OrHost fills every empty field from Host.
func (p Paths) OrHost() Paths {
	h := Host()
	for _, f := range []struct {
		v *string
		d string
	}{
		{&p.Journal, h.Journal}, {&p.Lock, h.Lock}, {&p.Key, h.Key},
		{&p.Audit, h.Audit}, {&p.Backups, h.Backups}, {&p.Inventory, h.Inventory},
	} {
		if *f.v == "" {
			*f.v = f.d
		}
	}
	return p
}
