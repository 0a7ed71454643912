package mdadm

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseDevState(t *testing.T) {
	tests := []struct {
		in   string
		want DevState
	}{
		{"in_sync", DevState{InSync: true}},
		{"faulty,blocked", DevState{Faulty: true, Blocked: true}},
		{"in_sync,write_mostly,write_error,want_replacement", DevState{InSync: true, WriteMostly: true, WriteError: true, WantReplacement: true}},
		{"in_sync,writemostly,failfast,external_bbl", DevState{InSync: true, WriteMostly: true, FailFast: true, ExternalBBL: true}},
		{"spare,replacement", DevState{Spare: true, Replacement: true}},
		{"journal", DevState{Journal: true}},
		{"in_sync,,sparkly", DevState{InSync: true, Unknown: []string{"", "sparkly"}}},
	}
	for _, tt := range tests {
		if got := ParseDevState(strings.Split(tt.in, ",")); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %+v, want %+v", tt.in, got, tt.want)
		}
	}
}
