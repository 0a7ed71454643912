package cli

import (
	"os"
	"path/filepath"

	"github.com/raidswap/raidswap/internal/event"
)

// Main runs raidswap with the process's arguments and streams. Run through a link named
// raidswap-event (mdadm.conf's PROGRAM), it is `raidswap event` with mdadm's arguments.
func Main() int {
	args := os.Args[1:]
	if filepath.Base(os.Args[0]) == event.ProgramName {
		args = append([]string{"event"}, args...)
	}
	return Run(&Factory{IO: SystemIO()}, args)
}
