// Command vmrun boots the vmtest VM with the given disks, runs a bash script in it, prints
// the script's output and exits with its code. It is for `make demo` and manual exploration:
//
//	go run ./internal/vmtest/vmrun --disk WD-A:1G --disk WD-B:1G:4096 --script - <<'EOS'
//	cat /proc/mdstat; ls -l /dev/disk/by-id
//	EOS
//
// --firmware uefi boots OVMF instead of SeaBIOS, with a writable copy of its variable store:
// the guest has efivars and efibootmgr. The copy is fresh and thrown away, unless
// --uefi-vars FILE names one to keep (created from OVMF's empty store when it does not
// exist), so boot entries made in one run are there in the next:
//
//	go run ./internal/vmtest/vmrun --firmware uefi --uefi-vars /tmp/vars.fd --disk 'WD X/1+A:1G' --script - <<'EOS'
//	efibootmgr -v; cat /sys/block/vda/serial
//	EOS
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/raidswap/raidswap/internal/vmtest"
)

type diskFlags []vmtest.Disk

func (d *diskFlags) String() string { return fmt.Sprint(len(*d)) }

func (d *diskFlags) Set(s string) error {
	disk, err := parseDisk(s)
	if err != nil {
		return err
	}
	*d = append(*d, disk)
	return nil
}

// parseDisk parses SERIAL:SIZE[:LBS[:PBS]], or SERIAL:@IMAGE[:LBS[:PBS]] for an existing image,
// then optional ",bus=sata|scsi|sas|nvme", ",model=M", ",vendor=V", ",wwn=0x...", ",rot=N".
// A trailing "+unplugged" leaves the disk out at boot (plug it with vmtest-hotplug).
func parseDisk(s string) (vmtest.Disk, error) {
	var d vmtest.Disk
	if rest, ok := strings.CutSuffix(s, "+unplugged"); ok {
		d.Unplugged, s = true, rest
	}
	s, opts, _ := strings.Cut(s, ",")
	if opts != "" {
		for _, kv := range strings.Split(opts, ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "bus":
				d.Bus = v
			case "model":
				d.Model = v
			case "vendor":
				d.Vendor = v
			case "wwn":
				d.WWN = v
			case "rot":
				n, err := strconv.Atoi(v)
				if err != nil {
					return d, fmt.Errorf("disk %q: rot: %w", s, err)
				}
				d.RotationRate = n
			default:
				return d, fmt.Errorf("disk %q: unknown option %q (want bus, model, vendor, wwn, rot)", s, k)
			}
		}
	}
	if rest, ok := strings.CutSuffix(s, "+unplugged"); ok {
		d.Unplugged, s = true, rest
	}
	f := strings.Split(s, ":")
	if len(f) < 2 || len(f) > 4 || f[0] == "" {
		return d, fmt.Errorf("disk %q: want SERIAL:SIZE[:LBS[:PBS]]", s)
	}
	d.Serial = f[0]
	if img, ok := strings.CutPrefix(f[1], "@"); ok {
		d.Image = img
	} else {
		n, err := parseSize(f[1])
		if err != nil {
			return d, fmt.Errorf("disk %q: %w", s, err)
		}
		d.SizeBytes = n
	}
	var err error
	if len(f) > 2 {
		if d.LogicalBlockSize, err = strconv.Atoi(f[2]); err != nil {
			return d, fmt.Errorf("disk %q: logical block size: %w", s, err)
		}
	}
	if len(f) > 3 {
		if d.PhysicalBlockSize, err = strconv.Atoi(f[3]); err != nil {
			return d, fmt.Errorf("disk %q: physical block size: %w", s, err)
		}
	}
	return d, nil
}

// parseSize reads 512, 64M, 1G, 2T (binary units).
func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult = 1 << 10
	case strings.HasSuffix(s, "M"):
		mult = 1 << 20
	case strings.HasSuffix(s, "G"):
		mult = 1 << 30
	case strings.HasSuffix(s, "T"):
		mult = 1 << 40
	}
	if mult > 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

// parseFirmware reads --firmware and checks --uefi-vars goes with uefi.
func parseFirmware(fw, vars string) (vmtest.Firmware, error) {
	switch f := vmtest.Firmware(fw); f {
	case vmtest.BIOS, vmtest.UEFI:
		if vars != "" && f != vmtest.UEFI {
			return "", errors.New("--uefi-vars needs --firmware uefi")
		}
		return f, nil
	}
	return "", fmt.Errorf("--firmware %q: want bios or uefi", fw)
}

type envFlags map[string]string

func (e envFlags) String() string { return fmt.Sprint(len(e)) }

func (e envFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("env %q: want KEY=VALUE", s)
	}
	e[k] = v
	return nil
}

func main() { os.Exit(run()) }

func run() int {
	var (
		disks   diskFlags
		env     = envFlags{}
		script  = flag.String("script", "", "bash script to run in the guest (`FILE`, or - for stdin)")
		timeout = flag.Duration("timeout", 5*time.Minute, "kill the VM after this long")
		mem     = flag.Int("mem", 0, "guest memory in MiB (default 1024)")
		share   = flag.String("share", "", "host `DIR` shared writable at /mnt/share (default: a temp dir, removed)")
		noUdev  = flag.Bool("no-udev", false, "do not start systemd-udevd in the guest")
		verbose = flag.Bool("v", false, "copy the serial console to stderr as it runs")
		fw      = flag.String("firmware", "bios", "`bios` (SeaBIOS) or uefi (OVMF with a writable variable store; the guest has efivars)")
		vars    = flag.String("uefi-vars", "", "with --firmware uefi: the OVMF variable store `FILE` to use and keep (made from OVMF's empty one when missing)")
	)
	flag.Var(&disks, "disk", "add a disk `SERIAL:SIZE[:LBS[:PBS]]` (SIZE like 1G; SERIAL:@IMAGE attaches a file; suffix +unplugged); repeatable")
	flag.Var(env, "env", "export `KEY=VALUE` to the script; repeatable")
	flag.Parse()
	usage := func() int {
		fmt.Fprintln(os.Stderr, "usage: vmrun [--disk SERIAL:SIZE[:LBS[:PBS]]]... [--firmware bios|uefi [--uefi-vars FILE]] --script FILE|- [--timeout 5m]")
		flag.PrintDefaults()
		return 64
	}
	if *script == "" || flag.NArg() > 0 {
		return usage()
	}
	firmware, err := parseFirmware(*fw, *vars)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmrun:", err)
		return usage()
	}
	var body []byte
	if *script == "-" {
		body, err = io.ReadAll(os.Stdin)
	} else {
		body, err = os.ReadFile(*script)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmrun:", err)
		return 64
	}
	if err := vmtest.Available(); err != nil {
		fmt.Fprintln(os.Stderr, "vmrun:", err)
		return 69
	}
	cfg := vmtest.Config{Disks: disks, Script: string(body), Env: env, Timeout: *timeout,
		MemoryMB: *mem, Share: *share, NoUdev: *noUdev, Firmware: firmware}
	if *vars != "" {
		if _, err := os.Stat(*vars); errors.Is(err, os.ErrNotExist) {
			if err := vmtest.NewUEFIVars(*vars); err != nil {
				fmt.Fprintln(os.Stderr, "vmrun:", err)
				return 69
			}
		}
		cfg.UEFIVars = *vars
	}
	if cfg.Share == "" {
		dir, err := os.MkdirTemp("", "vmrun-share-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "vmrun:", err)
			return 70
		}
		defer os.RemoveAll(dir)
		cfg.Share = dir
	}
	if *verbose {
		cfg.ConsoleOut = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := vmtest.Run(ctx, cfg)
	if res != nil {
		os.Stdout.WriteString(res.Output)
	}
	if err != nil {
		if res != nil && !*verbose {
			fmt.Fprintf(os.Stderr, "vmrun: console:\n%s\n", res.Console)
		}
		fmt.Fprintln(os.Stderr, "vmrun:", err)
		if errors.Is(err, vmtest.ErrTimeout) {
			return 124
		}
		return 70
	}
	fmt.Fprintf(os.Stderr, "vmrun: exit %d, boot-to-script %.1fs, total %.1fs\n", res.ExitCode, res.Boot.Seconds(), res.Duration.Seconds())
	return res.ExitCode
}
