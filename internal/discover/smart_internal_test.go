package discover

import (
	"context"
	"testing"
	"time"

	"github.com/raidswap/raidswap/identify"
)

type countingSMART map[string]int

func (c countingSMART) ReadSMART(_ context.Context, name string) identify.Health {
	c[name]++
	return identify.Health{State: identify.SMARTOK}
}

// The live reader reuses a disk's health for the TTL, and reads afresh a disk that carries
// another serial under the same name (a swapped disk) or once the TTL is over.
func TestCachedSMART(t *testing.T) {
	now := time.Unix(1000, 0)
	n := countingSMART{}
	c := &cachedSMART{r: n, ttl: SMARTCacheTTL, now: func() time.Time { return now }, m: map[string]smartEntry{}}
	ctx := context.Background()
	c.read(ctx, "sda", "A")
	c.read(ctx, "sda", "A")
	if n["sda"] != 1 {
		t.Fatalf("%d reads within the TTL, want 1", n["sda"])
	}
	c.read(ctx, "sda", "B")
	if n["sda"] != 2 {
		t.Fatalf("a new serial under the same name was not read afresh")
	}
	now = now.Add(SMARTCacheTTL)
	c.read(ctx, "sda", "B")
	if n["sda"] != 3 {
		t.Fatalf("not read again after the TTL")
	}
}
