// Command raidswap replaces a failed disk in an mdadm RAID1 without endangering the survivor.
package main

import (
	"os"

	"github.com/raidswap/raidswap/internal/cli"
)

func main() { os.Exit(cli.Main()) }
