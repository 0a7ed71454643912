package identify

import (
	"os"
	"path"
	"strings"
	"testing"
)

const markerLab = "/var/lib/raidswap/drill/drill-20261206-051632-ab12"

// A marker in the form simulate.Lab writes it (testdata/raidswap-drill.json; simulate's
// FuzzReadMarker starts from one the lab code itself wrote).
func realMarker(t testing.TB) []byte {
	b, err := os.ReadFile("testdata/raidswap-drill.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseDrillMarker(t *testing.T) {
	good := string(realMarker(t))
	m, err := ParseDrillMarker([]byte(good), markerLab)
	if err != nil || len(m.Disks) != 2 || m.Disk("DRILL-A1F3C") == nil || m.Disk("DRILL-A1F3C").Ino == 0 {
		t.Fatalf("real marker: %+v, %v", m, err)
	}
	sub := func(old, new string) string { return strings.Replace(good, old, new, 1) }
	for name, tc := range map[string]struct{ b, dir, want string }{
		"other directory": {good, path.Dir(markerLab) + "/drill-20261206-051632-ffff", "is not this directory's drill id"},
		"relative lab":    {good, "drill-20261206-051632-ab12", "not a clean absolute directory"},
		"not raidswap's":  {sub(`"tool": "raidswap drill"`, `"tool": "other"`), markerLab, "not a marker raidswap wrote"},
		"no tool":         {sub(`"tool": "raidswap drill",`, ``), markerLab, "not a marker raidswap wrote"},
		"file outside":    {sub(markerLab+"/raidswap-drill-DRILL-A1F3C.img", "/etc/passwd"), markerLab, `file "/etc/passwd" is not`},
		"file via ..":     {sub(markerLab+"/raidswap-drill-DRILL-A1F3C.img", markerLab+"/../x/raidswap-drill-DRILL-A1F3C.img"), markerLab, "is not " + markerLab},
		"inode zero":      {zeroIno(good), markerLab, "no inode recorded"},
		"shared inode":    {sameIno(good), markerLab, "record one file"},
		"twice":           {sameSerial(good), markerLab, "listed twice"},
		"unknown field":   {sub(`"pid"`, `"evil": 1, "pid"`), markerLab, "unknown field"},
		"trailing":        {good + "{}", markerLab, "more than one JSON value"},
		"null":            {"null", markerLab, "not a marker raidswap wrote"},
		"huge":            {good + strings.Repeat(" ", MaxDrillMarker), markerLab, "larger than"},
		"sector size":     {sub(`"sector_size": 512`, `"sector_size": 1024`), markerLab, "sector size 1024"},
		"serial":          {sub(`"serial": "DRILL-A1F3C"`, `"serial": "../../etc"`), markerLab, "not a drill serial"},
		"negative size":   {sub(`"size": `, `"size": -`), markerLab, "negative"},
		"pid":             {sub(`"pid": `, `"pid": -`), markerLab, "not a process id"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseDrillMarker([]byte(tc.b), tc.dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err %v, want one line with %q", err, tc.want)
			}
		})
	}
}

// zeroIno, sameIno and sameSerial edit the real marker's second disk.
func second(good string) (head, disk2 string) {
	i := strings.LastIndex(good, `"serial"`)
	return good[:i], good[i:]
}

func zeroIno(good string) string {
	h, d := second(good)
	j := strings.Index(d, `"ino": `)
	k := strings.IndexAny(d[j+7:], "\n}")
	return h + d[:j+7] + "0" + d[j+7+k:]
}

func sameIno(good string) string {
	m, _ := ParseDrillMarker([]byte(good), markerLab)
	h, d := second(good)
	j := strings.Index(d, `"ino": `)
	k := strings.IndexAny(d[j+7:], "\n}")
	d = d[:j+7] + itoa(int(m.Disks[0].Ino)) + d[j+7+k:]
	j = strings.Index(d, `"dev": `)
	k = strings.IndexAny(d[j+7:], ",\n")
	return h + d[:j+7] + itoa(int(m.Disks[0].Dev)) + d[j+7+k:]
}

func sameSerial(good string) string {
	m, _ := ParseDrillMarker([]byte(good), markerLab)
	other := m.Disks[1].Serial
	h, d := second(good)
	return h + strings.ReplaceAll(d, other, m.Disks[0].Serial)
}
