package view

import (
	"strings"
	"testing"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/discover"
)

func TestStatusBoot(t *testing.T) {
	s := &discover.System{Verdict: discover.Warning, Summary: "x", Disks: []discover.Disk{
		{Name: "vda", Serial: "A", Present: true, Boot: &bootloader.Readiness{State: bootloader.BootOK, Reason: "GRUB 2"}},
		{Name: "vdb", Serial: "B", Present: true, Boot: &bootloader.Readiness{State: bootloader.BootMissing, Reason: "no boot code in the MBR"}},
		{Name: "vdc", Serial: "C", Present: true, Boot: &bootloader.Readiness{State: bootloader.BootUnknown, Reason: "UEFI verification not built"}},
		{Name: "vdd", Serial: "D", Present: true},
	}}
	var b strings.Builder
	if err := StatusHuman(&b, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"VERDICT  BOOT", "  ok\n", "missing: no boot code in the MBR", "unknown: UEFI verification not built", "  -\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := StatusPrometheus(&b, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`raidswap_disk_boot_ready{disk="vda",serial="A"} 1`, `raidswap_disk_boot_ready{disk="vdb",serial="B"} 0`,
		`raidswap_disk_boot_unknown{disk="vdc",serial="C",reason="UEFI verification not built"} 1`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(b.String(), `boot_ready{disk="vdc"`) || strings.Contains(b.String(), `disk="vdd"`+",serial=\"D\"} ") {
		t.Errorf("an unjudged disk has a boot_ready sample:\n%s", b.String())
	}
}
