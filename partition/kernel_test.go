package partition

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/raidswap/raidswap/internal/host"
)

// fakeKernel is a kernel's partitions of disk "sdz" in a fake sysfs and /dev under dir: Add
// and Delete change them as BLKPG does; Reread fails with rereadErr, or registers onReread.
type fakeKernel struct {
	t         *testing.T
	dir       string
	rereadErr error
	onReread  []KernelPartition
	addErr    error
	calls     []string
}

func (k *fakeKernel) set(n int, start, size int64) {
	name := fmt.Sprintf("sdz%d", n)
	sys := filepath.Join(k.dir, "sys/block/sdz", name)
	if err := os.MkdirAll(sys, 0o755); err != nil {
		k.t.Fatal(err)
	}
	for f, v := range map[string]int64{"partition": int64(n), "start": start / 512, "size": size / 512} {
		if err := os.WriteFile(filepath.Join(sys, f), []byte(fmt.Sprintf("%d\n", v)), 0o644); err != nil {
			k.t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(k.dir, "dev", name), nil, 0o644); err != nil {
		k.t.Fatal(err)
	}
}

func (k *fakeKernel) Reread() error {
	k.calls = append(k.calls, "reread")
	if k.rereadErr != nil {
		return k.rereadErr
	}
	for _, p := range k.onReread {
		k.set(p.Number, p.Start, p.Size)
	}
	return nil
}

func (k *fakeKernel) Add(n int, start, size int64) error {
	k.calls = append(k.calls, fmt.Sprintf("add %d", n))
	if k.addErr != nil {
		return k.addErr
	}
	k.set(n, start, size)
	return nil
}

func (k *fakeKernel) Delete(n int) error {
	k.calls = append(k.calls, fmt.Sprintf("del %d", n))
	name := fmt.Sprintf("sdz%d", n)
	if err := os.RemoveAll(filepath.Join(k.dir, "sys/block/sdz", name)); err != nil {
		return err
	}
	return os.Remove(filepath.Join(k.dir, "dev", name))
}

// kernelDisk is a Device whose only real part is its KernelTable (nil: an image file).
type kernelDisk struct {
	Device
	k KernelTable
}

func (d kernelDisk) Path() string        { return "/dev/sdz" }
func (d kernelDisk) Kernel() KernelTable { return d.k }

func newFakeKernel(t *testing.T) (*fakeKernel, *host.Root) {
	dir := t.TempDir()
	for _, d := range []string{"sys/block/sdz", "dev"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &fakeKernel{t: t, dir: dir}, host.NewRoot(dir)
}

// dosLayout: primary 1, extended 2 (the kernel shows its first KiB), logical 5.
func dosLayout() Layout {
	return Layout{Table: Table{Scheme: MBR, Geometry: Geometry{Size: 1 << 30, LogicalSectorSize: 512, PhysicalSectorSize: 512},
		Partitions: []Partition{
			{Number: 1, Kind: KindPrimary, Start: 1 << 20, Size: 100 << 20},
			{Number: 2, Kind: KindExtended, Start: 101 << 20, Size: 200 << 20},
			{Number: 5, Kind: KindLogical, Start: 102 << 20, Size: 199 << 20},
		}}}
}

// TestUpdateKernelReread: when the kernel re-reads the table itself and shows the layout,
// nothing is added or removed.
func TestUpdateKernelReread(t *testing.T) {
	k, root := newFakeKernel(t)
	k.onReread = kernelView(dosLayout(), "sdz")
	up, err := UpdateKernel(root, kernelDisk{k: k}, "sdz", dosLayout())
	if err != nil {
		t.Fatal(err)
	}
	if up.Method != "BLKRRPART" || up.RereadError != "" || !reflect.DeepEqual(k.calls, []string{"reread"}) {
		t.Errorf("method %q, reread error %q, calls %v; want BLKRRPART alone", up.Method, up.RereadError, k.calls)
	}
	if len(up.Partitions) != 3 || up.Partitions[1].Size != 1024 {
		t.Errorf("kernel partitions %+v: want 3, the extended one 1 KiB", up.Partitions)
	}
}

// TestUpdateKernelBLKPG: a kernel that will not re-read (busy) keeps a partition that
// matches, loses the stale one and gains the missing ones, partition by partition.
func TestUpdateKernelBLKPG(t *testing.T) {
	k, root := newFakeKernel(t)
	k.rereadErr = syscall.EBUSY
	k.set(1, 1<<20, 100<<20) // as written: kept
	k.set(2, 50<<20, 10<<20) // stale: another start
	k.set(3, 70<<20, 10<<20) // not in the layout
	up, err := UpdateKernel(root, kernelDisk{k: k}, "sdz", dosLayout())
	if err != nil {
		t.Fatal(err)
	}
	if up.Method != "BLKPG" || !strings.Contains(up.RereadError, "device or resource busy") {
		t.Errorf("method %q, reread error %q", up.Method, up.RereadError)
	}
	if want := []string{"reread", "del 2", "del 3", "add 2", "add 5"}; !reflect.DeepEqual(k.calls, want) {
		t.Errorf("calls %v, want %v", k.calls, want)
	}
	if err := VerifyKernel(root, "sdz", dosLayout()); err != nil {
		t.Errorf("after the update: %v", err)
	}
}

// TestUpdateKernelRefusals: an image file has no kernel partitions to tell, and a partition
// the kernel will not take is named.
func TestUpdateKernelRefusals(t *testing.T) {
	_, root := newFakeKernel(t)
	if _, err := UpdateKernel(root, kernelDisk{}, "sdz", dosLayout()); err == nil || !strings.Contains(err.Error(), "not a block device") {
		t.Errorf("image file: %v", err)
	}
	k, root := newFakeKernel(t)
	k.rereadErr = syscall.EINVAL
	k.addErr = syscall.EINVAL
	_, err := UpdateKernel(root, kernelDisk{k: k}, "sdz", dosLayout())
	if err == nil || !strings.Contains(err.Error(), "adding kernel partition sdz1 of /dev/sdz") || !errors.Is(err, syscall.EINVAL) {
		t.Errorf("add refused: %v", err)
	}
}
