package drill

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	seam "github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/human"
	"github.com/raidswap/raidswap/simulate"
)

// The hands: what an operator's hands do during a scene (pull the failed disk when raidswap
// says so, insert the new one), keyed on the run's journal.

// startHands starts the simulated hands; the returned function stops them and says what
// went wrong with them.
func (s *scene) startHands(ctx context.Context) func() error {
	hctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.hands(hctx) }()
	var once sync.Once
	var err error
	return func() error {
		once.Do(func() {
			cancel()
			if err = <-done; errors.Is(err, context.Canceled) {
				err = nil
			}
		})
		return err
	}
}

// hands do what an operator's hands do once the plan exists: when the failed disk holds no
// md member any more (the wizard's phase 1 is done) they pull it; about a second after it is
// gone they insert the new disk from the shelf (unless it went in first).
func (s *scene) hands(ctx context.Context) error {
	select {
	case <-s.planned:
	case <-ctx.Done():
		return ctx.Err()
	}
	// An operator pulls the disk when raidswap says so: once its phase 1 (detach, then the
	// bay's LED) is done, not between two of its steps.
	if err := s.awaitJournal(ctx, pullCue); err != nil {
		return err
	}
	if err := s.pullWhenFree(ctx, s.failed, s.failedDev, "the failed disk"); err != nil {
		return err
	}
	if s.sc.AfterDetach != nil {
		if err := s.sc.AfterDetach(s, ctx); err != nil {
			return err
		}
	}
	if s.sc.NewFirst {
		return nil
	}
	if err := sleep(ctx, time.Second); err != nil {
		return err
	}
	return s.insertShelf(ctx)
}

// awaitJournal waits until a record of the lab's journals matches.
func (s *scene) awaitJournal(ctx context.Context, match func(entry) bool) error {
	for {
		recs, _ := s.journalRecords()
		for _, r := range recs {
			if match(r) {
				return nil
			}
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// pullWhenFree waits until the disk holds no md member and pulls it; a disk already gone
// (vanished) is left as it is.
func (s *scene) pullWhenFree(ctx context.Context, serial, dev, what string) error {
	for {
		if _, ok := s.lab.Device(serial); !ok {
			return nil
		}
		held, err := holdsMember(s.c.Root, dev)
		if err != nil {
			return err
		}
		if !held {
			break
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	if err := s.lab.Pull(ctx, serial); err != nil {
		return fmt.Errorf("pulling %s: %w", serial, err)
	}
	s.say("pulled %s (%s, the bay of %s)", serial, dev, what)
	return nil
}

func (s *scene) insertShelf(ctx context.Context) error {
	dev, err := s.lab.Insert(ctx, s.shelf)
	if err != nil {
		return fmt.Errorf("inserting %s: %w", s.shelf.Serial, err)
	}
	s.say("inserted %s (%s, %s, %d-byte sectors%s) in the empty bay", s.shelf.Serial, dev, human.Bytes(uint64(s.shelf.Size)), s.shelf.SectorSize, map[bool]string{true: ", from another server: it holds an old array", false: ""}[s.sc.Shelf.Dirty])
	if s.sc.Shelf.Dirty {
		return s.stopForeign(ctx, dev)
	}
	return nil
}

// stopForeign stops an old array udev assembled from a dirty new disk (mdadm -I on the
// disk's arrival, as on a real server), as the operator must before the disk can be used:
// only an array whose every member is on that disk. udev may still be busy with the disk:
// probing the array it has just assembled (the stop is refused, "Cannot get exclusive
// access") or handling a late event for the disk (it assembles the array again). So after
// each stop it waits for udev's queue and looks again, until none is left (bounded).
func (s *scene) stopForeign(ctx context.Context, dev string) error {
	k := filepath.Base(dev)
	foreign := func() (map[string]bool, error) {
		ms, err := simulate.Members(s.c.Root)
		if err != nil {
			return nil, err
		}
		arrays := map[string]bool{}
		for _, m := range ms {
			if m.Disk == k {
				arrays[m.Array] = true
			}
		}
		for _, m := range ms {
			if m.Disk != k {
				delete(arrays, m.Array)
			}
		}
		return arrays, nil
	}
	var busy error
	stopped := false
	for i := 0; i < 15; i++ {
		arrays, err := foreign()
		if err != nil {
			return err
		}
		if len(arrays) == 0 {
			if stopped {
				return nil
			}
			if err := sleep(ctx, 200*time.Millisecond); err != nil {
				return err
			}
			continue
		}
		busy = nil
		for a := range arrays {
			if _, err := s.c.Runner.Run(ctx, seam.Mdadm, "--stop", "/dev/"+a); err != nil {
				busy = fmt.Errorf("stopping the old array %s assembled from %s: %w", a, dev, err)
				continue
			}
			s.say("udev assembled the old array %s from %s; stopped it (mdadm --stop /dev/%s), as you would before using the disk", a, dev, a)
			stopped = true
		}
		_, _ = s.c.Runner.Run(ctx, seam.Udevadm, "settle", "--timeout=30")
		if busy != nil {
			if err := sleep(ctx, 200*time.Millisecond); err != nil {
				return err
			}
		}
	}
	if busy != nil {
		return busy
	}
	if arrays, err := foreign(); err == nil && len(arrays) > 0 {
		return fmt.Errorf("udev assembled the old array again from %s each time it was stopped (%d tries)", dev, 15)
	}
	return nil
}

// holdsMember says whether any md array has a member on dev (or on a dm table over it).
func holdsMember(root *seam.Root, dev string) (bool, error) {
	ms, err := simulate.Members(root)
	if err != nil {
		return false, err
	}
	k := filepath.Base(dev)
	for _, m := range ms {
		if m.Disk == k {
			return true, nil
		}
	}
	return false, nil
}
