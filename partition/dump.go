package partition

import (
	"fmt"
	"strings"

	"github.com/raidswap/raidswap/internal/blockstack"
)

// Dump renders a table in `sfdisk --dump` format, so a backup can be restored with
// `sfdisk DEVICE < FILE` and compared with what sfdisk itself prints.
func Dump(t Table, device string) string {
	var b strings.Builder
	l := int64(t.Geometry.LogicalSectorSize)
	fmt.Fprintf(&b, "label: %s\n", t.Scheme)
	switch t.Scheme {
	case GPT:
		fmt.Fprintf(&b, "label-id: %s\n", t.DiskGUID)
	case MBR:
		fmt.Fprintf(&b, "label-id: 0x%08x\n", t.DiskSignature)
	}
	fmt.Fprintf(&b, "device: %s\nunit: sectors\n", device)
	if t.Scheme == GPT {
		fmt.Fprintf(&b, "first-lba: %d\nlast-lba: %d\n", t.FirstUsableLBA, t.LastUsableLBA)
		if t.EntryCount != gptEntryCount {
			fmt.Fprintf(&b, "table-length: %d\n", t.EntryCount)
		}
	}
	fmt.Fprintf(&b, "sector-size: %d\n\n", l)
	for _, p := range t.Partitions {
		fmt.Fprintf(&b, "%s : start=%12d, size=%12d, ", blockstack.PartitionName(device, p.Number), p.Start/l, p.Size/l)
		switch t.Scheme {
		case GPT:
			fmt.Fprintf(&b, "type=%s, uuid=%s", p.TypeGUID, p.GUID)
			if p.Name != "" {
				fmt.Fprintf(&b, ", name=\"%s\"", sfdiskQuote(p.Name))
			}
			if a := gptAttrs(p.Attributes); a != "" {
				fmt.Fprintf(&b, ", attrs=\"%s\"", a)
			}
		case MBR:
			fmt.Fprintf(&b, "type=%x", p.Type)
			if p.Bootable {
				b.WriteString(", bootable")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// sfdiskQuote escapes a name the way sfdisk does: quotes, backslashes and control
// characters as \xNN.
func sfdiskQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '"' || r == '\\' || r < 0x20 || r == 0x7f {
			fmt.Fprintf(&b, `\x%02x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// gptAttrs names attribute bits the way sfdisk does; like sfdisk it leaves out the reserved
// bits 3–47 (the raw sector backup keeps them).
func gptAttrs(a uint64) string {
	var out []string
	for bit, name := range []string{"RequiredPartition", "NoBlockIOProtocol", "LegacyBIOSBootable"} {
		if a&(1<<bit) != 0 {
			out = append(out, name)
		}
	}
	var guid []string
	for bit := 48; bit < 64; bit++ {
		if a&(1<<bit) != 0 {
			guid = append(guid, fmt.Sprint(bit))
		}
	}
	if len(guid) > 0 {
		out = append(out, "GUID:"+strings.Join(guid, ","))
	}
	return strings.Join(out, " ")
}
