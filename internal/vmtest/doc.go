// Package vmtest boots a real Debian kernel under QEMU (TCG) and runs a bash script in it as
// root, with the host's own userland: the guest root is the host's / exported read-only over
// virtio-9p with a tmpfs overlay on top, so mdadm, sgdisk, udevd, grub-install and any binary
// just built on the host run unchanged. It exists because the machines raidswap is developed
// on have no md driver, and every claim raidswap makes about md, partitions or bootloaders has
// to be checked against a real kernel.
//
// It owns: the QEMU command line (one VM per Run, killed through its process group on timeout
// or cancel), the guest's PID 1 (stage2: mounts, udevd, script, power-off), the disks (sparse
// images in a per-run dir under /dev/shm, on virtio-blk, SATA, SCSI, SAS or NVMe with serials,
// models, WWNs and block sizes), hot-plug through QMP on the guest's request (vmtest-hotplug),
// and a machine-wide limit on concurrent VMs. It must not know anything about RAID: scenarios live in package simulate.
//
// Disk buses (Disk.Bus). Each disk attached at boot is waited for by serial before udevd
// replays the block devices; `vmtest-disk SERIAL` prints its kernel name in the guest (`--all`
// every disk with it, `--serial NAME` the reverse), because sdX names follow probe order across
// controllers. Config.DuplicateSerials allows twins (one serial on two disks), never hot-plugged. The controllers sit on fixed PCI slots (ahci0 0x02, scsi0 0x03, sas0 0x1f), each
// disk on a fixed port, target or slot, so by-path names are stable across a re-plug.
//
//	bus     QEMU device                    guest name  serial read from            hot-plug (QMP)
//	virtio  virtio-blk-pci                 vdX         /sys/block/vdX/serial       unplug + plug
//	sata    ide-hd on ich9-ahci (6 ports)  sdX         VPD 0x80 (libata), ATA id   none: device_del fails
//	scsi    scsi-hd on virtio-scsi-pci     sdX         VPD 0x80                    unplug + plug
//	sas     scsi-hd on mptsas1068 (8)      sdX         VPD 0x80                    unplug only, unseen
//	nvme    nvme (one namespace, nsid 1)   nvmeNn1     /sys/class/nvme/nvmeN/serial unplug + plug
//
// Measured (TestVMBuses, TestVMBusHotplug, QEMU 7.2, Debian 6.1 kernel):
//   - sata: Model is the ATA model, WWN the IDENTIFY WWN (NAA 5, udev ID_WWN and by-id/wwn-*),
//     vendor shows "ATA"; by-path pci-0000:00:02.0-ata-N.0. Logical blocks are 512 only.
//     AHCI does not hot-plug in QEMU: device_del answers "Bus 'ahci0.0' does not support
//     hotplugging", and an Unplugged sata disk is refused by the config check.
//   - scsi/sas: Model is the SCSI product, Vendor the vendor, WWN the NAA designator of VPD
//     0x83. udev's scsi_id then makes the WWN the disk's ID_SERIAL_SHORT (and by-id scsi-3WWN);
//     the drive's own serial is ID_SCSI_SERIAL / VPD 0x80. by-path: scsi
//     pci-0000:00:03.0-scsi-0:0:T:0, sas pci-0000:00:1f.0-sas-phyT-lun-0.
//   - sas: mptsas1068 reports no target without a WWN (its SAS address), so WWN is required.
//     device_del succeeds in QEMU but the HBA sends the guest no event: the sdX entry stays and
//     its I/O fails with DID_NO_CONNECT, like a dead drive behind an HBA; vmtest-hotplug says so
//     instead of waiting. A plug would be just as unseen, so it is refused.
//   - nvme: QEMU's controller has no model option ("QEMU NVMe Ctrl") and no EUI-64/NGUID, so
//     the kernel's wwid (ID_WWN) is the synthetic nvme.1b36-<serial hex>-<model hex>-00000001;
//     Model and WWN are refused. Partitions are nvme0n1p1. A re-plugged controller may get
//     another nvmeN number; by-path (its PCI slot) stays.
//   - The drivers (ahci, virtio_scsi, mptsas, sd_mod, sg, nvme) are loaded by stage2 with
//     modprobe, as udev does not load them here; Run refuses to start when the asset tree
//     lacks one (assets built by an older scripts/vm-assets.sh).
//
// Firmware (Config.Firmware): BIOS is SeaBIOS; UEFI is OVMF with a writable copy of its
// variable store (Config.UEFIVars keeps one across runs, NewUEFIVars makes one), so the guest
// has efivars mounted and efibootmgr's entries survive to the next boot. By hand:
// `go run ./internal/vmtest/vmrun --firmware uefi [--uefi-vars FILE] ...`.
//
// Serials may hold inner spaces, '/' and '+' as real drives' do (QEMU's serial= carries
// them; measured by TestVMUEFISerialLabel on virtio-blk), up to 20 bytes (virtio-blk's limit).
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
