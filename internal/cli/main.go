package cli

import "os"

// Main runs raidswap with the process's arguments and streams.
func Main() int {
	return Run(&Factory{IO: SystemIO()}, os.Args[1:])
}
