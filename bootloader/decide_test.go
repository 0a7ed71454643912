package bootloader

import "testing"

func TestDecide(t *testing.T) {
	tests := []struct {
		f    Facts
		want Kind
	}{
		{Facts{UEFI: false, BootArray: "md0"}, GrubBIOSEveryDisk},
		{Facts{UEFI: false}, NoBootCode},
		{Facts{UEFI: true, BootArray: "md0"}, UEFIByHand},
		{Facts{UEFI: true}, NoBootCode},
	}
	for _, tt := range tests {
		d, err := Decide(tt.f)
		if err != nil || d.Kind != tt.want || d.Why == "" {
			t.Errorf("Decide(%+v) = %+v, %v; want kind %d", tt.f, d, err, tt.want)
		}
	}
}
