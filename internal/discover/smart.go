package discover

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/paths"
)

// This file gives each present disk its SMART health and judges what it means for the
// system: a disk whose SMART predicts its failure while its members are still in sync is a
// candidate for `raidswap replace --replace`, which copies it while redundancy holds.

// Options are what discovery reads besides files under the Root.
type Options struct {
	// SMART reads each present disk's SMART health; nil reads none (Disk.SMART stays nil).
	SMART identify.SMARTReader
	// Scope, when set, is a drill's view (scope.go): only its lab's disks and arrays, its own
	// inventory and its boot facts.
	Scope *Scope
	// Profile is the distribution profile the engine resolved once (host.DetectProfile);
	// nil reads it through the Root.
	Profile *host.Profile
	// Paths says where the inventory and the journals are, read through the Root
	// (paths.Host's when empty; a drill's are its lab's).
	Paths paths.Paths
}

// DefaultOptions are discovery's options for root: on the live system SMART is read from
// the devices (cached for SMARTCacheTTL, see cachedSMART); a capture holds no devices, so
// nothing is read from it.
func DefaultOptions(root *host.Root) Options {
	if !root.IsLive() {
		return Options{}
	}
	liveSMARTOnce.Do(func() {
		liveSMART = &cachedSMART{r: identify.DeviceSMART{Root: root}, ttl: SMARTCacheTTL, now: time.Now, m: map[string]smartEntry{}}
	})
	return Options{SMART: liveSMART}
}

// SMARTCacheTTL is how long one disk's SMART health is reused. The executor re-discovers
// every ≤ 500 ms while it waits; SMART changes over hours, and a disk under rebuild should
// not be sent SMART commands twice a second. A disk with another serial (a swapped disk
// under the same name) is read afresh.
const SMARTCacheTTL = 30 * time.Second

var (
	liveSMARTOnce sync.Once
	liveSMART     *cachedSMART
)

type smartEntry struct {
	h    identify.Health
	when time.Time
}

// cachedSMART reuses a disk's health for ttl, keyed by kernel name and serial.
type cachedSMART struct {
	r   identify.SMARTReader
	ttl time.Duration
	now func() time.Time
	mu  sync.Mutex
	m   map[string]smartEntry
}

func (c *cachedSMART) read(ctx context.Context, name, serial string) identify.Health {
	key := name + "\x00" + serial
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && c.now().Sub(e.when) < c.ttl {
		return e.h
	}
	h := c.r.ReadSMART(ctx, name)
	c.mu.Lock()
	c.m[key] = smartEntry{h: h, when: c.now()}
	c.mu.Unlock()
	return h
}

// ReadSMART is the SMARTReader interface, uncached keys (no serial).
func (c *cachedSMART) ReadSMART(ctx context.Context, name string) identify.Health {
	return c.read(ctx, name, "")
}

// readSMART reads every present disk's SMART at once (each read bounded by the reader's own
// timeout), then marks the replace candidates.
func (s *System) readSMART(o Options) {
	if o.SMART == nil {
		return
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range s.Disks {
		d := &s.Disks[i]
		if !d.Present {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var h identify.Health
			if c, ok := o.SMART.(*cachedSMART); ok {
				h = c.read(ctx, d.Name, d.Serial)
			} else {
				h = o.SMART.ReadSMART(ctx, d.Name)
			}
			d.SMART = &h
		}()
	}
	wg.Wait()
	for i := range s.Disks {
		s.Disks[i].SMARTReplaceCandidate = replaceCandidate(&s.Disks[i])
	}
}

// replaceCandidate: SMART says failing and every md member on the disk is still in sync, so
// `mdadm --replace` can copy it with redundancy kept.
func replaceCandidate(d *Disk) bool {
	if d.SMART == nil || d.SMART.State != identify.SMARTFailing || len(d.Members) == 0 {
		return false
	}
	for _, m := range d.Members {
		if m.State != MemberInSync {
			return false
		}
	}
	return true
}

// smartWarnings are what a disk's SMART adds to the overall verdict: a failing, warning or
// unjudgeable record each make it at least a warning. Unavailable (no SMART) and a read
// this user may not make say nothing of the disk and add nothing.
func smartWarnings(d Disk) []string {
	h := d.SMART
	if h == nil || !d.Present {
		return nil
	}
	why := strings.Join(h.Reasons, "; ")
	switch h.State {
	case identify.SMARTFailing:
		if d.SMARTReplaceCandidate {
			return []string{fmt.Sprintf("disk %s: SMART predicts its failure (%s) while its members are still in sync: replace it now, with redundancy kept during the copy: raidswap replace --replace --failed %s --new SERIAL",
				d.Label(), why, orName(d))}
		}
		return []string{fmt.Sprintf("disk %s: SMART says failing: %s", d.Label(), why)}
	case identify.SMARTWarning:
		return []string{fmt.Sprintf("disk %s: SMART: %s", d.Label(), why)}
	case identify.SMARTUnknown:
		if h.Denied {
			return nil
		}
		return []string{fmt.Sprintf("disk %s: SMART could not be judged: %s", d.Label(), why)}
	}
	return nil
}

func orName(d Disk) string {
	if d.Serial != "" {
		return d.Serial
	}
	return "/dev/" + d.Name
}
