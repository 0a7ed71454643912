package bootloader

import "testing"

func TestDecide(t *testing.T) {
	tests := []struct {
		f    Facts
		want Kind
	}{
		{Facts{Firmware: FirmwareBIOS, Boot: BootDir{Array: "md0"}}, GrubBIOSEveryDisk},
		{Facts{Firmware: FirmwareBIOS}, NoBootCode},
		{Facts{Firmware: FirmwareUEFI, Boot: BootDir{Array: "md0"}}, UEFIByHand},
		{Facts{Firmware: FirmwareUEFI}, NoBootCode},
	}
	for _, tt := range tests {
		d, err := Decide(tt.f)
		if err != nil || d.Kind != tt.want || d.Why == "" {
			t.Errorf("Decide(%+v) = %+v, %v; want kind %d", tt.f, d, err, tt.want)
		}
	}
}
