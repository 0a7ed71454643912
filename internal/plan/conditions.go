package plan

import (
	"fmt"

	"github.com/raidswap/raidswap/internal/discover"
)

func (b *builder) survivorSerialCond() Condition {
	s := b.survivor
	return Condition{Kind: CondDiskSerial, Device: s.Name, Serial: s.Serial, Text: fmt.Sprintf("%s is still the survivor %s", s.Name, s.Serial)}
}

func (b *builder) failedSerialCond() Condition {
	f := b.failed
	return Condition{Kind: CondDiskSerial, Device: f.Name, Serial: f.Serial, Text: fmt.Sprintf("%s still carries serial %s", f.Name, f.Serial)}
}

func arrayCond(a *discover.Array) Condition {
	return Condition{Kind: CondArrayUUID, Array: a.Name, ArrayUUID: a.UUID, Text: fmt.Sprintf("%s is still the array with UUID %s", a.Name, a.UUID)}
}
