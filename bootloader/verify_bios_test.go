package bootloader

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVerifyBIOS(t *testing.T) {
	dos := []imgPart{{"0xfd", 2048, 4095}}
	tests := []struct {
		sp    imgSpec
		state BootState
		why   string
	}{
		{imgSpec{label: "gpt", code: MBRGrub2, parts: gptBIOS, core: 2048}, BootOK, "BIOS boot partition 1"},
		{imgSpec{label: "gpt", code: MBRGrub2, parts: gptBIOS, core: 2048, noCore: true}, BootMissing, "holds no GRUB core.img"},
		{imgSpec{label: "gpt", code: MBRGrub2, parts: gptBIOS, core: 4096}, BootMissing, "in no BIOS boot partition"},
		{imgSpec{label: "gpt", code: MBRNone, parts: gptBIOS}, BootMissing, "no boot code"},
		{imgSpec{label: "dos", code: MBRGrub2, parts: dos, core: 1}, BootOK, "gap after the MBR"},
		{imgSpec{label: "dos", code: MBRGrub2, parts: dos, core: 2048}, BootMissing, "not in the gap"},
		{imgSpec{label: "dos", code: MBROther, parts: dos}, BootMissing, "not GRUB 2's"},
		{imgSpec{label: "dos", code: MBRGrubLegacy, parts: dos}, BootUnknown, "GRUB 0.97"},
	}
	for i, tt := range tests {
		file := filepath.Join(t.TempDir(), "disk")
		writeImage(t, file, tt.sp)
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		got := VerifyBIOS(func(off int64, n int) ([]byte, error) {
			b := make([]byte, n)
			_, err := f.ReadAt(b, off)
			return b, err
		}, 4<<20, 512)
		f.Close()
		if got.State != tt.state || !strings.Contains(got.Reason, tt.why) {
			t.Errorf("%d: got %+v, want %s (%s)", i, got, tt.state, tt.why)
		}
	}
	got := VerifyBIOS(func(int64, int) ([]byte, error) { return nil, os.ErrPermission }, 4<<20, 512)
	if got.State != BootUnknown {
		t.Errorf("unreadable: %+v", got)
	}
}
