package partition

import (
	"fmt"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/host"
)

// Source layouts, made by the independent tools (sgdisk, sfdisk) the way an installer or an
// administrator made them.

const cyl = 16065 // sectors per cylinder in the 255-head, 63-sector translation

// oldMBR63 is a DOS table from a pre-2010 installer: everything on cylinder boundaries, the
// first partition at sector 63, an extended partition whose logical partitions sit 63 sectors
// after their EBRs.
func oldMBR63(t testing.TB, size int64) string {
	needTool(t, host.Sfdisk)
	img := newImage(t, "old63.img", size)
	runStdin(t, fmt.Sprintf(`label: dos
unit: sectors

start=63, size=%d, type=fd, bootable
start=%d, size=%d, type=fd
start=%d, size=%d, type=5
start=%d, size=%d, type=82
start=%d, size=%d, type=fd
`, cyl*16-63, cyl*16, cyl*32, cyl*48, cyl*40, cyl*48+63, cyl*20-63, cyl*68+63, cyl*20-63), host.Sfdisk, "-q", img)
	return img
}

// mbrLogical is a DOS table as current sfdisk/fdisk make it: 1 MiB alignment, a boot flag,
// an extended partition with three logical partitions.
func mbrLogical(t testing.TB, size int64) string {
	needTool(t, host.Sfdisk)
	img := newImage(t, "logical.img", size)
	runStdin(t, `label: dos
start=2048, size=64MiB, type=83, bootable
size=128MiB, type=fd
type=f
size=128MiB, type=fd
size=32MiB, type=82
size=64MiB, type=fd
`, host.Sfdisk, "-q", img)
	return img
}

// gptBiosEspRaid is a GPT as a BIOS+UEFI server installer makes it: a BIOS boot partition, an
// ESP (named, with attribute bits), and two Linux RAID partitions, the last filling the disk.
func gptBiosEspRaid(t testing.TB, size int64) string {
	return SgdiskImage(t, t.TempDir(), "gpt.img", size,
		"-n1:2048:+1M", "-t1:ef02", "-c1:BIOS boot",
		"-n2:0:+64M", "-t2:ef00", "-c2:EFI System", "-A2:set:0", "-A2:set:60",
		"-n3:0:+128M", "-t3:fd00", "-c3:boot raid",
		"-n4:0:0", "-t4:fd00", "-c4:root raid")
}

// normalizeDump replaces an image path in sfdisk --dump output so golden files do not depend
// on the temporary directory.
func normalizeDump(dump, path string) string {
	return strings.ReplaceAll(dump, path, "IMAGE")
}
