// Package vmtest boots a real Debian kernel under QEMU (TCG) and runs a bash script in it as
// root, with the host's own userland: the guest root is the host's / exported read-only over
// virtio-9p with a tmpfs overlay on top, so mdadm, sgdisk, udevd, grub-install and any binary
// just built on the host run unchanged. It exists because the machines raidswap is developed
// on have no md driver, and every claim raidswap makes about md, partitions or bootloaders has
// to be checked against a real kernel.
//
// It owns: the QEMU command line (one VM per Run, killed through its process group on timeout
// or cancel), the guest's PID 1 (stage2: mounts, udevd, script, power-off), the disks (sparse
// images in a per-run dir under /dev/shm, virtio-blk with serials and block sizes), hot-plug
// through QMP on the guest's request (vmtest-hotplug), and a machine-wide limit on concurrent
// VMs. It must not know anything about RAID: scenarios live in package simulate.
//
// Kernel, modules and initramfs come from scripts/vm-assets.sh ($RAIDSWAP_VM_DIR, default
// /var/cache/raidswap/vm). Available reports what is missing; Require skips (or, under CI=true,
// fails) tests when VMs cannot run. All VM tests in the project are named TestVM*.
//
// Why not github.com/hugelgupf/vmtest: it is a good general QEMU API (process lifetime, 9p
// shares, expect-scripting on the console, a virtio-serial event channel, coverage) and
// u-root's integration tests are built on it. Its guest userland, though, is a u-root
// initramfs of Go commands (quimage), and its script and Go-test runners (scriptvm, govmtest,
// both marked WIP) run inside that. raidswap's tests need the distribution's mdadm, udevd
// rules, sgdisk, partx and grub-install with their real behaviour, and a stock distribution
// kernel's md and dm modules; with the host root over 9p we get those for free, and the
// remaining harness (argv, PID 1 script, QMP hot-plug) is a few hundred lines we can read.
// What we give up: its console expect helpers, coverage collection and multi-arch support,
// none of which these tests use.
package vmtest
