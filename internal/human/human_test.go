package human

import (
	"math"
	"testing"
	"time"
)

func TestBytes(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {512, "512 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"},
		{1 << 20, "1.0 MiB"}, {128 << 20, "128.0 MiB"}, {1<<30 - 1, "1024.0 MiB"}, {8 << 30, "8.0 GiB"},
		{2 << 40, "2.0 TiB"}, {3 << 50, "3.0 PiB"}, {math.MaxInt64, "8.0 EiB"}, {-5, "-5 B"},
	} {
		if got := Bytes(tt.n); got != tt.want {
			t.Errorf("Bytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
		if tt.n >= 0 {
			if got := Bytes(uint64(tt.n)); got != tt.want {
				t.Errorf("Bytes(uint64 %d) = %q, want %q", tt.n, got, tt.want)
			}
		}
	}
	if got := Bytes(uint64(math.MaxUint64)); got != "16.0 EiB" {
		t.Errorf("Bytes(MaxUint64) = %q", got)
	}
}

func TestDuration(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {400 * time.Millisecond, "0s"}, {500 * time.Millisecond, "1s"}, {45 * time.Second, "45s"},
		{65 * time.Second, "1m05s"}, {65_400 * time.Millisecond, "1m05s"}, {187 * time.Second, "3m07s"},
		{time.Hour, "1h00m"}, {2*time.Hour + 5*time.Minute + 59*time.Second, "2h05m"}, {-time.Second, "-1s"},
	} {
		if got := Duration(tt.d); got != tt.want {
			t.Errorf("Duration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	if got := Seconds(68); got != "1m08s" {
		t.Errorf("Seconds(68) = %q", got)
	}
}

func TestRateKiB(t *testing.T) {
	for _, tt := range []struct {
		kib  int64
		want string
	}{{0, "0.0 MB/s"}, {640, "0.7 MB/s"}, {977, "1.0 MB/s"}, {9765, "10.0 MB/s"}, {9766, "10 MB/s"}, {97656, "99 MB/s"}, {200000, "204 MB/s"}} {
		if got := RateKiB(tt.kib); got != tt.want {
			t.Errorf("RateKiB(%d) = %q, want %q", tt.kib, got, tt.want)
		}
	}
}

func TestDecimalBytes(t *testing.T) {
	for n, want := range map[uint64]string{134217728: "134 MB", 480103981056: "480 GB", 1000204886016: "1.0 TB"} {
		if got := DecimalBytes(n); got != want {
			t.Errorf("DecimalBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
