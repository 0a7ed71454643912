package mdadm

import (
	"strings"
	"testing"
)

func TestOps(t *testing.T) {
	tests := []struct {
		name string
		argv []string
		want string
	}{
		{"fail+remove", FailRemove("/dev/md0", "/dev/sdb1"), "/sbin/mdadm /dev/md0 --fail /dev/sdb1 --remove /dev/sdb1"},
		{"detached", FailRemoveDetached("/dev/md1"), "/sbin/mdadm /dev/md1 --fail detached --remove detached"},
		{"remove", Remove("/dev/md1", "/dev/sdb2"), "/sbin/mdadm /dev/md1 --remove /dev/sdb2"},
		{"add", Add("/dev/md0", "{new:1}"), "/sbin/mdadm /dev/md0 --add {new:1}"},
		{"re-add", ReAdd("/dev/md0", "/dev/sdd1"), "/sbin/mdadm /dev/md0 --re-add /dev/sdd1"},
		{"replace", Replace("/dev/md0", "/dev/sdb1", "/dev/sdc1"), "/sbin/mdadm /dev/md0 --replace /dev/sdb1 --with /dev/sdc1"},
		{"zero", ZeroSuperblock("/dev/sdc1", "/dev/sdc2"), "/sbin/mdadm --zero-superblock /dev/sdc1 /dev/sdc2"},
	}
	for _, tt := range tests {
		if got := strings.Join(tt.argv, " "); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestPaths(t *testing.T) {
	for in, want := range map[string]string{"md0": "/dev/md0", "/dev/md1": "/dev/md1"} {
		if got := ArrayDevice(in); got != want {
			t.Errorf("ArrayDevice(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"sdb1": "/dev/sdb1", "detached": "detached", "{new:2}": "{new:2}", "/dev/vda": "/dev/vda"} {
		if got := DevPath(in); got != want {
			t.Errorf("DevPath(%q) = %q, want %q", in, got, want)
		}
	}
}
