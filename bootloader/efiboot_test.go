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
	// The failed disk's entry is known by its ESP's PARTUUID; the order keeps its shape.
	failed := v.FailedEntries([]string{"deadbeef-0000-4000-8000-00000000dead"}, "WD-OLD", "0004", "0007")
	if len(failed) != 1 || failed[0].Num != "0005" {
		t.Errorf("failed = %+v", failed)
	}
	if order := v.ReplaceOrder("0004", "0007", []string{"0005"}); !slices.Equal(order, []string{"0004", "0007", "0000", "0001"}) {
		t.Errorf("order = %v", order)
	}
}

// otherSystems is issue 18's firmware: the administrator's first choice is another OS, the
// failed disk's entry (0001, debian on PARTUUID f...f) comes next, then the survivor's, and
// another system's Debian on a disk unplugged for now (PARTUUID d...d, the same loader path).
var otherSystems = BootVars{Order: []string{"0003", "0001", "0000", "0004"}, Entries: []BootEntry{
	{Num: "0000", Label: "debian", PARTUUID: "aaaaaaaa-0000-4000-8000-00000000aaaa", Loader: `\EFI\debian\grubx64.efi`},
	{Num: "0001", Label: "debian", PARTUUID: "ffffffff-0000-4000-8000-00000000ffff", Loader: `\EFI\debian\grubx64.efi`},
	{Num: "0002", Label: "raidswap WD-NEW", PARTUUID: "eeeeeeee-0000-4000-8000-00000000eeee", Loader: `\EFI\debian\grubx64.efi`},
	{Num: "0003", Label: "Other OS", PARTUUID: "cccccccc-0000-4000-8000-00000000cccc", Loader: `\EFI\otheroot.efi`},
	{Num: "0004", Label: "Other Debian", PARTUUID: "dddddddd-0000-4000-8000-00000000dddd", Loader: `\EFI\debian\grubx64.efi`},
	{Num: "0005", Label: "raidswap WD-OLD", PARTUUID: "bbbbbbbb-0000-4000-8000-00000000bbbb", Loader: `\EFI\debian\grubx64.efi`},
	{Num: "0006", Label: "raidswap WD%20OLD", PARTUUID: "99999999-0000-4000-8000-000000009999", Loader: `\EFI\debian\grubx64.efi`},
}}

func TestFailedEntries(t *testing.T) {
	const failedESP = "ffffffff-0000-4000-8000-00000000ffff"
	for _, tc := range []struct {
		name   string
		ids    []string
		serial string
		keep   []string
		want   []string
	}{
		{"by the failed ESP and raidswap's label", []string{failedESP}, "WD-OLD", []string{"0000", "0002"}, []string{"0001", "0005"}},
		{"PARTUUID compared without case", []string{strings.ToUpper(failedESP)}, "", nil, []string{"0001"}},
		{"ESP not known: raidswap's own only", nil, "WD-OLD", []string{"0000", "0002"}, []string{"0005"}},
		{"a serial's safe label", nil, "WD OLD", nil, []string{"0006"}},
		{"never the survivor's or the new disk's", []string{failedESP, "aaaaaaaa-0000-4000-8000-00000000aaaa"}, "WD-NEW", []string{"0000", "0002"}, []string{"0001"}},
		{"nothing known: nothing removed", nil, "", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range otherSystems.FailedEntries(tc.ids, tc.serial, tc.keep...) {
				got = append(got, e.Num)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("FailedEntries = %v, want %v", got, tc.want)
			}
			for _, n := range got {
				if n == "0003" || n == "0004" {
					t.Errorf("another system's entry Boot%s would be deleted", n)
				}
			}
		})
	}
}

func TestReplaceOrder(t *testing.T) {
	entries := func(order ...string) BootVars {
		v := otherSystems
		v.Order = order
		return v
	}
	for _, tc := range []struct {
		name          string
		order         []string
		surv, nw      string
		removed, want []string
	}{
		// Issue 18: Other OS first stays first; the new disk's entry takes the failed one's place.
		{"admin's first choice stays first", []string{"0003", "0001", "0000", "0004"}, "0000", "0002", []string{"0001"}, []string{"0003", "0002", "0000", "0004"}},
		{"failed disk first: new disk first", []string{"0001", "0003", "0000"}, "0000", "0002", []string{"0001"}, []string{"0002", "0003", "0000"}},
		{"survivor's entry made now goes beside the new one", []string{"0003", "0001", "0004"}, "0005", "0002", []string{"0001"}, []string{"0003", "0005", "0002", "0004"}},
		{"two failed entries: the first one's place", []string{"0003", "0006", "0004", "0001"}, "0000", "0002", []string{"0001", "0006"}, []string{"0003", "0000", "0002", "0004"}},
		{"no failed entry: new after the survivor", []string{"0003", "0000", "0004"}, "0000", "0002", nil, []string{"0003", "0000", "0002", "0004"}},
		{"neither in the order: both at the end", []string{"0003", "0004"}, "0000", "0002", nil, []string{"0003", "0004", "0000", "0002"}},
		{"resumed: its own order again", []string{"0003", "0002", "0000", "0004"}, "0000", "0002", nil, []string{"0003", "0002", "0000", "0004"}},
		{"numbers without entries and repeats dropped", []string{"0003", "00AA", "0001", "0003", "0000"}, "0000", "0002", []string{"0001"}, []string{"0003", "0002", "0000"}},
		{"empty order", nil, "0000", "0002", nil, []string{"0000", "0002"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := entries(tc.order...)
			got := v.ReplaceOrder(tc.surv, tc.nw, tc.removed)
			if !slices.Equal(got, tc.want) {
				t.Errorf("ReplaceOrder(%v) = %v, want %v", tc.order, got, tc.want)
			}
			// Idempotent: a resumed step with the failed entries gone sets nothing new.
			v.Order = got
			if again := v.ReplaceOrder(tc.surv, tc.nw, nil); !slices.Equal(again, got) {
				t.Errorf("applied twice: %v, then %v", got, again)
			}
		})
	}
}

func TestEntryLabel(t *testing.T) {
	for serial, want := range map[string]string{
		"WD-WCC4N1234567": "raidswap WD-WCC4N1234567",
		"S3Z9NB0K_1.2:x":  "raidswap S3Z9NB0K_1.2:x",
		"WD X/Y+Z":        "raidswap WD%20X%2FY%2BZ",
		"50%":             "raidswap 50%25",
		"Z1X2\\'\"$(id)":  "raidswap Z1X2%5C%27%22%24%28id%29",
		"é":               "raidswap %C3%A9",
	} {
		got := EntryLabel(serial)
		if got != want {
			t.Errorf("EntryLabel(%q) = %q, want %q", serial, got, want)
		}
		if !ValidEntryLabel(got) {
			t.Errorf("EntryLabel(%q) = %q is not a ValidEntryLabel", serial, got)
		}
	}
	// No two serials share a label: % is escaped too.
	if EntryLabel("A B") == EntryLabel("A%20B") {
		t.Error("two serials share a label")
	}
	for _, bad := range []string{"raidswap ", "raidswap a b", "raidswap a%2f", "other WD", "raidswap " + strings.Repeat("a", 193)} {
		if ValidEntryLabel(bad) {
			t.Errorf("ValidEntryLabel(%q)", bad)
		}
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
	got := strings.Join(CreateEntryArgv("/dev/vda", 1, EntryLabel("WD-A"), `\EFI\debian\grubx64.efi`), " ")
	if got != host.Efibootmgr+` --create-only --disk /dev/vda --part 1 --label raidswap WD-A --loader \EFI\debian\grubx64.efi` {
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

func TestLoaderOf(t *testing.T) {
	const a, b = "c9f42866-ee88-4004-a032-2dbf3696c113", "7a4006c6-5042-4cf5-b2e5-f5a86e21c793"
	v, err := ParseBootVars([]byte("BootCurrent: 0003\nBootOrder: 0001,0003\n" +
		"Boot0000 old\tHD(1,GPT," + b + ",0x800,0x20000)/File(\\EFI\\old\\grubx64.efi)\n" +
		"Boot0001* debian\tHD(1,GPT," + a + ",0x800,0x20000)/File(\\EFI\\debian\\shimx64.efi)\n" +
		"Boot0002* bad\tHD(1,GPT," + b + ",0x800,0x20000)/File(\\EFI\\..\\x.efi)\n" +
		"Boot0003* raidswap WD-B\tHD(1,GPT," + b + ",0x800,0x20000)/File(\\EFI\\ubuntu\\grubx64.efi)\n"))
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{a: "EFI/debian/shimx64.efi", strings.ToUpper(b): "EFI/ubuntu/grubx64.efi", "": "", "0dddd000-0000-4000-8000-00000000dddd": ""} {
		if got := v.LoaderOf(id); got != want {
			t.Errorf("LoaderOf(%q) = %q, want %q", id, got, want)
		}
	}
}
