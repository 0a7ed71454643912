package bootloader

import (
	"strings"
	"testing"
)

func TestGrubBIOSInstall(t *testing.T) {
	got := strings.Join(GrubBIOSInstall("/dev/vda"), " ")
	if want := "/usr/sbin/grub-install --target=i386-pc /dev/vda"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
