package simulate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/raidswap/raidswap/identify"
)

// attachLoopFD attaches the open image f to a free loop device, the way losetup --find
// --partscan [--sector-size] does but from the descriptor: LOOP_CTL_GET_FREE, then
// LOOP_CONFIGURE (Linux 5.8; LOOP_SET_FD and LOOP_SET_STATUS64 before it). A loop another
// process takes between the two (EBUSY) is passed over for the next free one.
func attachLoopFD(ctx context.Context, f *os.File, d identify.LabDisk) (string, error) {
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer ctl.Close()
	for range 32 {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return "", fmt.Errorf("LOOP_CTL_GET_FREE: %w", err)
		}
		dev := "/dev/loop" + strconv.Itoa(n)
		err = configureLoop(dev, f, d)
		if errors.Is(err, unix.EBUSY) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("%s: %w", dev, err)
		}
		return dev, nil
	}
	return "", errors.New("every free loop device was taken by another process before it could be configured")
}

func configureLoop(dev string, f *os.File, d identify.LabDisk) error {
	lf, err := os.OpenFile(dev, os.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer lf.Close()
	fd := int(lf.Fd())
	info := unix.LoopInfo64{Flags: unix.LO_FLAGS_PARTSCAN}
	copy(info.File_name[:len(info.File_name)-1], d.File)
	cfg := unix.LoopConfig{Fd: uint32(f.Fd()), Size: uint32(d.SectorSize), Info: info}
	err = unix.IoctlLoopConfigure(fd, &cfg)
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOTTY) {
		return err
	}
	// A kernel older than LOOP_CONFIGURE.
	if err := unix.IoctlSetInt(fd, unix.LOOP_SET_FD, int(f.Fd())); err != nil {
		return err
	}
	if err := unix.IoctlLoopSetStatus64(fd, &info); err != nil {
		unix.IoctlSetInt(fd, unix.LOOP_CLR_FD, 0)
		return err
	}
	if d.SectorSize != 512 {
		if err := unix.IoctlSetInt(fd, unix.LOOP_SET_BLOCK_SIZE, d.SectorSize); err != nil {
			unix.IoctlSetInt(fd, unix.LOOP_CLR_FD, 0)
			return err
		}
	}
	return nil
}
