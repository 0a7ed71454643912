package discover_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// dropLiveSMART checks that live status read every present virtio disk's SMART as
// unavailable, then drops it: a capture holds no devices, so `status --root` reads none and
// the two are compared without it.
func dropLiveSMART(t *testing.T, s *discover.System) {
	t.Helper()
	for i := range s.Disks {
		d := &s.Disks[i]
		if d.Present && d.SMART == nil {
			t.Errorf("live status read no SMART of present disk %s", d.Name)
		}
		if d.Present && d.SMART != nil && d.SMART.State != identify.SMARTUnavailable {
			t.Errorf("virtio disk %s: SMART %s, want unavailable", d.Name, d.SMART.Summary())
		}
		d.SMART, d.SMARTReplaceCandidate = nil, false
	}
}

// smartctlATA and smartctlNVMe are the parts of `smartctl -j` output the cross-check reads.
type smartctlATA struct {
	Attrs struct {
		Table []struct {
			ID     int `json:"id"`
			Value  int `json:"value"`
			Worst  int `json:"worst"`
			Thresh int `json:"thresh"`
			Raw    struct {
				Value uint64 `json:"value"`
			} `json:"raw"`
		} `json:"table"`
	} `json:"ata_smart_attributes"`
}

type smartctlNVMe struct {
	Log struct {
		CriticalWarning int    `json:"critical_warning"`
		Temperature     int    `json:"temperature"`
		AvailableSpare  int    `json:"available_spare"`
		SpareThreshold  int    `json:"available_spare_threshold"`
		PercentageUsed  int    `json:"percentage_used"`
		MediaErrors     uint64 `json:"media_errors"`
	} `json:"nvme_smart_health_information_log"`
}

// TestVMSMART reads SMART for real from QEMU's emulated ATA disk (ide-hd on ich9-ahci) and
// NVMe disk, beside a virtio disk, with `raidswap status` inside the guest: the ATA disk and
// the NVMe disk are judged ok with the attributes and health log QEMU reports, the virtio
// disk says "SMART unavailable", and every value matches what smartctl reads from the same
// device. The guest also runs BenchmarkDeviceSMART for the cost per disk.
func TestVMSMART(t *testing.T) {
	vmtest.Require(t)
	bin := testbin.Raidswap(t)
	_, file, _, _ := runtime.Caller(0)
	bench := filepath.Join(t.TempDir(), "identify.test")
	cmd := exec.Command("go", "test", "-c", "-o", bench, "./identify")
	cmd.Dir = filepath.Join(filepath.Dir(file), "..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building identify's test binary: %v\n%s", err, out)
	}
	script := "export PATH=" + filepath.Dir(bin) + ":$PATH\n" + `
modprobe raid1 || exit 10
mdadm --create /dev/md0 --run --quiet --level=1 --raid-devices=2 --metadata=1.2 --assume-clean /dev/sda /dev/nvme0n1 || exit 11
set +e
raidswap status --json > status.json; echo $? > status.rc
raidswap status > status.txt
raidswap status --format prometheus > status.prom
smartctl -j -A /dev/sda > smartctl-sda.json
smartctl -j -A /dev/nvme0n1 > smartctl-nvme.json
` + bench + ` -test.run '^$' -test.bench BenchmarkDeviceSMART -test.benchtime 20x > bench.txt 2>&1
exit 0
`
	res := vmtest.RunT(t, vmtest.Config{
		Disks: []vmtest.Disk{
			{Serial: "WD-VIRT1", SizeBytes: 64 << 20},
			{Bus: vmtest.BusSATA, Serial: "WD-WCC4E1SATA", Model: "WDC WD20EFRX-68EUZN0", SizeBytes: 64 << 20},
			{Bus: vmtest.BusNVMe, Serial: "NVME-SMART1", SizeBytes: 64 << 20},
		},
		Env:     map[string]string{"RAIDSWAP_SMART_BENCH": "sda,nvme0n1,vda"},
		Script:  script,
		Timeout: 4 * time.Minute,
	})
	if res.ExitCode != 0 {
		t.Fatalf("guest script exit %d:\n%s", res.ExitCode, res.Output)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(res.Share, name))
		if err != nil {
			t.Fatalf("%v\n%s", err, res.Output)
		}
		return b
	}
	t.Logf("status:\n%s", read("status.txt"))
	t.Logf("cost per disk (BenchmarkDeviceSMART in the guest, TCG):\n%s", read("bench.txt"))
	if rc := strings.TrimSpace(string(read("status.rc"))); rc != "0" {
		t.Errorf("status exit %s, want 0", rc)
	}
	var s discover.System
	if err := json.Unmarshal(read("status.json"), &s); err != nil {
		t.Fatal(err)
	}
	smartOf := func(name string) *identify.Health {
		d := s.Disk(name)
		if d == nil || d.SMART == nil {
			t.Fatalf("no disk %s with SMART in status --json:\n%s", name, read("status.json"))
		}
		return d.SMART
	}
	if h := smartOf("vda"); h.State != identify.SMARTUnavailable {
		t.Errorf("virtio vda: %s, want unavailable", h.Summary())
	}
	ata := smartOf("sda")
	if ata.State != identify.SMARTOK || ata.Protocol != "ata" || ata.Reallocated == nil || *ata.Reallocated != 0 {
		t.Errorf("sata sda: %+v", ata)
	}
	ids := map[uint8]identify.Attribute{}
	for _, a := range ata.Attributes {
		ids[a.ID] = a
	}
	for _, id := range []uint8{1, 3, 4, 5, 9, 12, 190} {
		if _, ok := ids[id]; !ok {
			t.Errorf("sda: QEMU's attribute %d missing from %v", id, ata.Attributes)
		}
	}
	var sc smartctlATA
	if err := json.Unmarshal(read("smartctl-sda.json"), &sc); err != nil || len(sc.Attrs.Table) == 0 {
		t.Fatalf("smartctl -j -A /dev/sda: %v\n%s", err, read("smartctl-sda.json"))
	}
	for _, c := range sc.Attrs.Table {
		a, ok := ids[uint8(c.ID)]
		if !ok {
			t.Errorf("smartctl reads attribute %d, raidswap does not", c.ID)
			continue
		}
		if int(a.Value) != c.Value || int(a.Worst) != c.Worst || int(a.Threshold) != c.Thresh {
			t.Errorf("attribute %d: raidswap %d/%d/%d, smartctl value/worst/thresh %d/%d/%d", c.ID, a.Value, a.Worst, a.Threshold, c.Value, c.Worst, c.Thresh)
		}
		// raidswap keeps the count part of attributes whose raw field packs more (3, 5, 9,
		// 190); both must agree on those bits.
		if a.Raw != c.Raw.Value && a.Raw != c.Raw.Value&0xffff && a.Raw != c.Raw.Value&0xffffff && a.Raw != c.Raw.Value&0xff {
			t.Errorf("attribute %d: raw %d, smartctl %d", c.ID, a.Raw, c.Raw.Value)
		}
	}
	nv := smartOf("nvme0n1")
	if nv.State != identify.SMARTOK || nv.Protocol != "nvme" || nv.NVMe == nil {
		t.Fatalf("nvme0n1: %+v", nv)
	}
	var sn smartctlNVMe
	if err := json.Unmarshal(read("smartctl-nvme.json"), &sn); err != nil {
		t.Fatalf("smartctl -j -A /dev/nvme0n1: %v", err)
	}
	l, n := sn.Log, nv.NVMe
	if int(n.CriticalWarning) != l.CriticalWarning || int(n.AvailableSpare) != l.AvailableSpare || int(n.SpareThreshold) != l.SpareThreshold ||
		int(n.PercentageUsed) != l.PercentageUsed || n.MediaErrors != l.MediaErrors || int(n.TemperatureKelvin)-273 != l.Temperature {
		t.Errorf("nvme0n1: raidswap %+v, smartctl %+v", *n, l)
	}
	golden.Contains(t, string(read("status.prom")),
		`raidswap_disk_smart_ok{disk="sda",serial="WD-WCC4E1SATA"} 1`,
		`raidswap_disk_smart_ok{disk="nvme0n1",serial="NVME-SMART1"} 1`,
		`raidswap_disk_smart_state{disk="vda",serial="WD-VIRT1",state="unavailable"} 1`,
		`raidswap_disk_smart_reallocated_sectors{disk="sda",serial="WD-WCC4E1SATA"} 0`,
		`raidswap_disk_nvme_critical_warning{disk="nvme0n1",serial="NVME-SMART1"} 0`)
	golden.Contains(t, string(read("status.txt")), "SMART unavailable", "sda", "ata ok (reallocated 0", "nvme ok (critical warning 0x00")
	golden.Contains(t, string(read("bench.txt")), "BenchmarkDeviceSMART/sda", "BenchmarkDeviceSMART/nvme0n1", "PASS")
}
