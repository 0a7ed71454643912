package event

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReadConfProgram: any bytes read as mdadm.conf give an answer without a panic, and the
// answer keeps the promise --install relies on: a file whose PROGRAM mdadm would not find
// gets raidswap's appended line as its PROGRAM, and a file that has one keeps it.
func FuzzReadConfProgram(f *testing.F) {
	for _, s := range []string{
		debianConf,
		"PROGRAM /usr/sbin/x\n",
		"prog \"/a b\" c\n  d # e\n",
		"ARRAY /dev/md0 UUID=1:2:3:4\n  PROGRAM /x\n#c\n\nPROGRAM\n\t/y\n",
		"# " + strings.Repeat("x", 300) + "\nPRO /z\x00w\r\n",
		"DEVICE active(x) auto-read-only)\nPROGRAM 'active(q)'\n",
		"PROGRAM \"unterminated\n  next",
	} {
		f.Add([]byte(s))
	}
	const own = "/usr/local/sbin/raidswap-event"
	f.Fuzz(func(t *testing.T, conf []byte) {
		got := readConfProgram(conf)
		if got.Found {
			if strings.IndexByte(got.Program, 0) >= 0 {
				t.Fatalf("program %q holds a NUL", got.Program)
			}
			if got.LineNo < 1 || got.LineNo > bytes.Count(conf, []byte("\n"))+1 {
				t.Fatalf("line %d of a %d-line file", got.LineNo, bytes.Count(conf, []byte("\n"))+1)
			}
		} else if got != (confProgram{}) {
			t.Fatalf("not found, yet %+v", got)
		}
		added := append(append([]byte(nil), conf...), "\n# raidswap\nPROGRAM "+own+"\n"...)
		after := readConfProgram(added)
		switch {
		case !got.Found && after.Program != own:
			t.Fatalf("raidswap's line appended, mdadm would run %q", after.Program)
		case got.Found && after != got:
			t.Fatalf("a line appended changed the PROGRAM from %+v to %+v", got, after)
		}
	})
}
