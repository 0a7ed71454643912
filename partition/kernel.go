package partition

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/raidswap/raidswap/internal/blockstack"
	"github.com/raidswap/raidswap/internal/host"
)

// KernelPartition is the kernel's idea of one partition, from sysfs.
type KernelPartition struct {
	Number int    `json:"number"`
	Name   string `json:"name"`
	Start  int64  `json:"start_bytes"`
	Size   int64  `json:"size_bytes"`
}

// KernelPartitions reads the partitions the kernel has for a disk from sysfs.
func KernelPartitions(root *host.Root, disk string) ([]KernelPartition, error) {
	devs, err := blockDevs(root, disk)
	if err != nil {
		return nil, err
	}
	var out []KernelPartition
	for _, d := range devs[1:] {
		var v [3]int64
		for i, f := range []string{"partition", "start", "size"} {
			s, err := root.ReadString(d.sys + "/" + f)
			if err != nil {
				return nil, fmt.Errorf("reading %s/%s: %w", d.sys, f, err)
			}
			if v[i], err = strconv.ParseInt(s, 10, 64); err != nil {
				return nil, fmt.Errorf("parsing %s/%s: %w", d.sys, f, err)
			}
		}
		out = append(out, KernelPartition{Number: int(v[0]), Name: d.name, Start: v[1] * 512, Size: v[2] * 512})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out, nil
}

// kernelView is what the kernel should show for a layout: every partition as written, an
// extended partition as its first max(1 KiB, one logical sector) only (what the kernel's own
// DOS parser registers, so nothing can be made on the container by mistake).
func kernelView(lay Layout, disk string) []KernelPartition {
	var out []KernelPartition
	for _, p := range lay.Partitions {
		k := KernelPartition{Number: p.Number, Name: blockstack.PartitionName(disk, p.Number), Start: p.Start, Size: p.Size}
		if p.Kind == KindExtended {
			k.Size = min(p.Size, max(int64(lay.Geometry.LogicalSectorSize), 1024))
		}
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

// compareKernel lists differences between the kernel's partitions and the expected ones.
func compareKernel(want, got []KernelPartition) []string {
	var probs []string
	g := map[int]KernelPartition{}
	for _, k := range got {
		g[k.Number] = k
	}
	for _, w := range want {
		k, ok := g[w.Number]
		switch {
		case !ok:
			probs = append(probs, fmt.Sprintf("the kernel has no partition %d", w.Number))
		case k.Start != w.Start || k.Size != w.Size:
			probs = append(probs, fmt.Sprintf("the kernel has %s at byte %d, %d bytes; written: byte %d, %d bytes", k.Name, k.Start, k.Size, w.Start, w.Size))
		}
		delete(g, w.Number)
	}
	for _, k := range g {
		probs = append(probs, fmt.Sprintf("the kernel still has %s, which the new table does not", k.Name))
	}
	sort.Strings(probs)
	return probs
}

// KernelUpdate says how the kernel learned the new table.
type KernelUpdate struct {
	// Method is "BLKRRPART" when the kernel re-read the table itself, "BLKPG" when raidswap
	// told it partition by partition.
	Method string `json:"method"`
	// RereadError is why BLKRRPART was not enough, if it was not.
	RereadError string            `json:"reread_error,omitempty"`
	Partitions  []KernelPartition `json:"partitions"`
}

// UpdateKernel makes the kernel see a table just written to disk d (kernel name disk): it
// asks for a re-read (BLKRRPART), and when the kernel's partitions do not then match the
// layout (a kernel without the table's parser, or a disk it will not re-read) it deletes and
// adds partitions one by one (BLKPG). It waits for the device nodes and fails unless the
// kernel's start and size of every partition match the layout.
func UpdateKernel(root *host.Root, d Device, disk string, lay Layout) (KernelUpdate, error) {
	up := KernelUpdate{Method: "BLKRRPART"}
	k := d.Kernel()
	if k == nil {
		return up, fmt.Errorf("%s is not a block device", d.Path())
	}
	want := kernelView(lay, disk)
	rrErr := k.Reread()
	got, err := KernelPartitions(root, disk)
	if err != nil {
		return up, err
	}
	probs := compareKernel(want, got)
	if rrErr == nil && len(probs) == 0 {
		up.Partitions = got
		return up, waitNodes(root, want)
	}
	up.Method = "BLKPG"
	if rrErr != nil {
		up.RereadError = fmt.Sprintf("BLKRRPART: %v", rrErr)
	} else {
		up.RereadError = "BLKRRPART left " + strings.Join(probs, "; ")
	}
	wantBy := map[int]KernelPartition{}
	for _, w := range want {
		wantBy[w.Number] = w
	}
	have := map[int]bool{}
	for _, kp := range got {
		if w, ok := wantBy[kp.Number]; ok && w.Start == kp.Start && w.Size == kp.Size {
			have[kp.Number] = true
			continue
		}
		if err := k.Delete(kp.Number); err != nil {
			return up, fmt.Errorf("removing stale kernel partition %s of %s: %w", kp.Name, d.Path(), err)
		}
	}
	for _, w := range want {
		if have[w.Number] {
			continue
		}
		if err := k.Add(w.Number, w.Start, w.Size); err != nil {
			return up, fmt.Errorf("adding kernel partition %s of %s: %w", w.Name, d.Path(), err)
		}
	}
	if err := waitNodes(root, want); err != nil {
		return up, err
	}
	got, err = KernelPartitions(root, disk)
	if err != nil {
		return up, err
	}
	up.Partitions = got
	if probs := compareKernel(want, got); len(probs) > 0 {
		return up, &VerifyError{Device: d.Path(), Problems: probs}
	}
	return up, nil
}

// ioctlTable is a block device's KernelTable: its partition ioctls on fd.
type ioctlTable struct{ fd int }

func (t ioctlTable) Reread() error { return unix.IoctlSetInt(t.fd, unix.BLKRRPART, 0) }
func (t ioctlTable) Add(n int, start, size int64) error {
	return blkpg(t.fd, unix.BLKPG_ADD_PARTITION, n, start, size)
}
func (t ioctlTable) Delete(n int) error { return blkpg(t.fd, unix.BLKPG_DEL_PARTITION, n, 0, 0) }

func blkpg(fd, op, pno int, start, length int64) error {
	p := unix.BlkpgPartition{Start: start, Length: length, Pno: int32(pno)}
	arg := unix.BlkpgIoctlArg{Op: int32(op), Datalen: int32(unsafe.Sizeof(p)), Data: (*byte)(unsafe.Pointer(&p))}
	for try := 0; ; try++ {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.BLKPG, uintptr(unsafe.Pointer(&arg)))
		if e == 0 {
			return nil
		}
		// udev may hold a just-added partition open for a moment while probing it.
		if errors.Is(e, unix.EBUSY) && try < 50 {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		return e
	}
}

// waitNodes waits until /dev has a node for every partition.
func waitNodes(root *host.Root, want []KernelPartition) error {
	deadline := time.Now().Add(10 * time.Second)
	for _, w := range want {
		for !root.Exists("/dev/" + w.Name) {
			if time.Now().After(deadline) {
				return fmt.Errorf("/dev/%s did not appear within 10s", w.Name)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// VerifyKernel compares the kernel's partitions of disk with a layout.
func VerifyKernel(root *host.Root, disk string, lay Layout) error {
	got, err := KernelPartitions(root, disk)
	if err != nil {
		return err
	}
	if probs := compareKernel(kernelView(lay, disk), got); len(probs) > 0 {
		return &VerifyError{Device: "/dev/" + disk, Problems: probs}
	}
	return nil
}
