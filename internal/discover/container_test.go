package discover_test

import (
	"testing"

	"github.com/raidswap/raidswap/internal/discover"
)

func TestContainerMetadata(t *testing.T) {
	tests := []struct {
		metadata         string
		format           string
		container, index string
		volume           bool
	}{
		{metadata: "external:imsm", format: "imsm"},
		{metadata: "external:ddf", format: "ddf"},
		{metadata: "external:/md127/0", container: "md127", index: "0", volume: true},
		{metadata: "external:-md127/1", container: "md127", index: "1", volume: true},
		{metadata: "external:/md127"},
		{metadata: "external:/md127/"},
		{metadata: "external:"},
		{metadata: "1.2"},
		{metadata: ""},
		{metadata: "imsm"},
	}
	for _, tt := range tests {
		if got := discover.ContainerFormat(tt.metadata); got != tt.format {
			t.Errorf("ContainerFormat(%q) = %q, want %q", tt.metadata, got, tt.format)
		}
		c, i, ok := discover.VolumeOf(tt.metadata)
		if c != tt.container || i != tt.index || ok != tt.volume {
			t.Errorf("VolumeOf(%q) = %q %q %v, want %q %q %v", tt.metadata, c, i, ok, tt.container, tt.index, tt.volume)
		}
	}
}
