package bootloader

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/host"
)

func bootVars(t *testing.T, name string) BootVars {
	t.Helper()
	b, err := os.ReadFile("testdata/efibootmgr/" + name)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ParseBootVars(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

func TestParseBootVarsRecordedOVMF(t *testing.T) {
	// Recorded in the VM: efibootmgr 17 (Debian 12) under OVMF after two --create.
	v := bootVars(t, "ovmf-two-entries-v17.txt")
	if !slices.Equal(v.Order, []string{"0002", "0001", "0000"}) || v.Current != "" {
		t.Errorf("order %v current %q", v.Order, v.Current)
	}
	if len(v.Entries) != 3 {
		t.Fatalf("entries %+v", v.Entries)
	}
	a := v.Entries[1]
	want := BootEntry{Num: "0001", Label: "raidswap ESP-A", Active: true, PARTUUID: "c9f42866-ee88-4004-a032-2dbf3696c113", Part: 1,
		Loader: `\EFI\debian\grubx64.efi`, Path: `HD(1,GPT,c9f42866-ee88-4004-a032-2dbf3696c113,0x800,0x20000)/File(\EFI\debian\grubx64.efi)`}
	if a != want {
		t.Errorf("entry\n got %+v\nwant %+v", a, want)
	}
	if e := v.EntryFor("C9F42866-EE88-4004-A032-2DBF3696C113", `\efi\debian\GRUBX64.EFI`); e == nil || e.Num != "0001" {
		t.Errorf("EntryFor: %+v", e)
	}
	if e := v.EntryFor("c9f42866-ee88-4004-a032-2dbf3696c113", `\EFI\debian\shimx64.efi`); e != nil {
		t.Errorf("EntryFor another loader: %+v", e)
	}
	if v.Entries[0].PARTUUID != "" || v.Entries[0].Label != "UiApp" {
		t.Errorf("UiApp: %+v", v.Entries[0])
	}
	// The output of --create (plain listing) parses too.
	c, err := ParseBootVars(mustRead(t, "testdata/efibootmgr/ovmf-create-output-v17.txt"))
	if err != nil || len(c.Entries) != 5 {
		t.Errorf("create output: %+v %v", c, err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseBootVarsDebian12ShimStale(t *testing.T) {
	v := bootVars(t, "debian12-shim-stale-v17.txt")
	if v.Current != "0004" || len(v.Entries) != 4 {
		t.Fatalf("%+v", v)
	}
	if v.Entries[1].Active || v.Entries[1].Label != "EFI Internal Shell" {
		t.Errorf("inactive entry: %+v", v.Entries[1])
	}
	dead := v.Entries[3]
	if dead.PARTUUID != "deadbeef-0000-4000-8000-00000000dead" || dead.Loader != `\EFI\debian\shimx64.efi` {
		t.Errorf("optional data after the file node: %+v", dead)
	}
	attached := map[string]bool{"0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9": true, "11111111-2222-4333-8444-555555555555": true}
	stale := v.Stale(attached, `\EFI\debian\shimx64.efi`)
	if len(stale) != 1 || stale[0].Num != "0005" {
		t.Errorf("stale = %+v", stale)
	}
	// An entry of another loader for a disk not attached now is not raidswap's.
	if s := v.Stale(attached, `\EFI\other\x.efi`); len(s) != 0 {
		t.Errorf("deleting another system's entry: %+v", s)
	}
	order := v.NewOrder([]string{"0004", "0007"}, []string{"0005"})
	if !slices.Equal(order, []string{"0004", "0007", "0000", "0001"}) {
		t.Errorf("order = %v", order)
	}
}

func TestParseBootVarsV18(t *testing.T) {
	v := bootVars(t, "v18-format.txt")
	if len(v.Entries) != 2 || v.Entries[1].Loader != `\EFI\debian\grubx64.efi` || v.Entries[1].PARTUUID != "c9f42866-ee88-4004-a032-2dbf3696c113" {
		t.Errorf("%+v", v.Entries)
	}
}

func TestParseBootVarsBadInput(t *testing.T) {
	if _, err := ParseBootVars(mustRead(t, "testdata/efibootmgr/no-efivars.txt")); !errors.Is(err, ErrNoEFIVars) {
		t.Errorf("no efivars: %v", err)
	}
	for _, bad := range []string{
		"BootOrder: 0001,zz\n",
		"BootCurrent: 12\n",
		"Boot0001* x\tHD(1,GPT,not-a-guid,0x800,0x20000)/File(\\EFI\\a.efi)\n",
		"Boot0001* x\tHD(1,MBR,zz,0x800,0x20000)/File(\\EFI\\a.efi)\n",
	} {
		if _, err := ParseBootVars([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	v, err := ParseBootVars([]byte("Boot0003* dos\tHD(1,MBR,0x1234abcd,0x800,0x20000)/File(\\EFI\\debian\\grubx64.efi)\n"))
	if err != nil || v.Entries[0].PARTUUID != "1234abcd-01" {
		t.Errorf("MBR: %+v %v", v, err)
	}
}

func TestEntryArgv(t *testing.T) {
	got := strings.Join(CreateEntryArgv("/dev/vda", 1, "WD-A", `\EFI\debian\grubx64.efi`), " ")
	if got != host.Efibootmgr+` --create --disk /dev/vda --part 1 --label raidswap WD-A --loader \EFI\debian\grubx64.efi` {
		t.Error(got)
	}
	if !slices.Equal(BootOrderArgv([]string{"0001", "0002"}), []string{host.Efibootmgr, "--bootorder", "0001,0002"}) {
		t.Error(BootOrderArgv([]string{"0001", "0002"}))
	}
	for p, ok := range map[string]bool{`\EFI\debian\grubx64.efi`: true, `\EFI\systemd\systemd-bootx64.efi`: true,
		`\EFI\debian\grub.cfg`: false, `\EFI\..\x.efi`: false, `/EFI/a.efi`: false, `\EFI\a b.efi`: false} {
		if ValidLoaderPath(p) != ok {
			t.Errorf("ValidLoaderPath(%q) = %v", p, !ok)
		}
	}
}

func TestEFIVarsProblem(t *testing.T) {
	rw := "efivarfs /sys/firmware/efi/efivars efivarfs rw,nosuid,nodev,noexec,relatime 0 0\n"
	ro := "efivarfs /sys/firmware/efi/efivars efivarfs ro,nosuid,nodev,noexec,relatime 0 0\n"
	if p := EFIVarsProblem(true, []byte(rw)); p != "" {
		t.Error(p)
	}
	if p := EFIVarsProblem(true, []byte(ro)); !strings.Contains(p, "remount,rw") {
		t.Error(p)
	}
	if p := EFIVarsProblem(true, []byte("proc /proc proc rw 0 0\n")); !strings.Contains(p, "mount -t efivarfs") {
		t.Error(p)
	}
	if p := EFIVarsProblem(false, []byte(rw)); !strings.Contains(p, "did not boot by UEFI") {
		t.Error(p)
	}
}
