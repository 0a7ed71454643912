#!/bin/bash
# vm-assets.sh — prepare what internal/vmtest needs to boot a real Debian kernel under QEMU:
# a vmlinuz, the subset of its modules the guest uses (virtio, 9p, overlay, md, dm, loop,
# ext4, vfat, sata/scsi/sas/nvme and everything they depend on) and a busybox initramfs whose /init
# mounts the host's / read-only over virtio-9p with a tmpfs overlay as the guest root.
#
# Idempotent: a stamp records the kernel package and this script's hash; a second run with
# nothing changed is a no-op. Run as root. Output goes to ${RAIDSWAP_VM_DIR:-/var/cache/raidswap/vm}:
#   vmlinuz  initrd.img  kernel-release  lib/modules/<release>/  stamp
set -euo pipefail

VM_DIR=${RAIDSWAP_VM_DIR:-/var/cache/raidswap/vm}
PKGS=(qemu-system-x86 busybox-static cpio zstd kmod udev mdadm gdisk fdisk dmsetup e2fsprogs dosfstools)

say() { printf 'vm-assets: %s\n' "$*"; }
die() { printf 'vm-assets: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (installs packages, writes $VM_DIR)"

# 1. Host packages the guest's userland comes from (the guest runs the host's own binaries).
missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
		apt-get update
		apt-get install -y --no-install-recommends "${missing[@]}"
	fi
fi

# Fast path: the kernel choice only moves when the apt lists or this script change.
SELF_HASH=$(sha256sum "$0" | cut -d' ' -f1)
LISTS_SIG=$(stat -c '%Y %s %n' /var/lib/apt/lists/*Packages* 2>/dev/null | sha256sum | cut -c1-16)
assets_complete() {
	[ -f "$VM_DIR/vmlinuz" ] && [ -f "$VM_DIR/initrd.img" ] &&
		[ -f "$VM_DIR/lib/modules/$(cat "$VM_DIR/kernel-release" 2>/dev/null)/modules.dep" ]
}
if [ -f "$VM_DIR/stamp" ] && assets_complete &&
	grep -qx "script=$SELF_HASH lists=$LISTS_SIG" "$VM_DIR/stamp"; then
	say "up to date in $VM_DIR ($(head -n1 "$VM_DIR/stamp"))"
	exit 0
fi

# 2. Which kernel package: the one the distribution's meta package depends on right now.
resolve_kernel() {
	local meta dep
	for meta in linux-image-amd64 linux-image-generic; do
		dep=$(apt-cache depends "$meta" 2>/dev/null |
			awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
		if [ -n "$dep" ]; then
			echo "$dep"
			return 0
		fi
	done
	return 1
}
KPKG=$(resolve_kernel) || { apt-get update >/dev/null; KPKG=$(resolve_kernel); } ||
	die "cannot resolve linux-image-amd64 (or linux-image-generic) to a kernel package"
KVER=$(apt-cache show --no-all-versions "$KPKG" | awk '$1 == "Version:" { print $2; exit }')
[ -n "$KVER" ] || die "no candidate version for $KPKG"
# Ubuntu splits the modules out of linux-image-*; Debian ships them in it.
KREL=${KPKG#linux-image-}
EXTRA_PKGS=()
for p in "linux-modules-$KREL" "linux-modules-extra-$KREL"; do
	if apt-cache show --no-all-versions "$p" >/dev/null 2>&1; then
		EXTRA_PKGS+=("$p")
	fi
done

STAMP="kernel=$KPKG=$KVER extra=${EXTRA_PKGS[*]}"
if [ -f "$VM_DIR/stamp" ] && [ "$(head -n1 "$VM_DIR/stamp")" = "$STAMP" ] && assets_complete &&
	grep -q "^script=$SELF_HASH " "$VM_DIR/stamp"; then
	printf '%s\nscript=%s lists=%s\n' "$STAMP" "$SELF_HASH" "$LISTS_SIG" >"$VM_DIR/stamp"
	say "up to date in $VM_DIR ($STAMP)"
	exit 0
fi

mkdir -p "$VM_DIR/debs"
WORK=$(mktemp -d /tmp/vm-assets.XXXXXX)
chmod 0755 "$WORK" # apt-get download runs as _apt and must reach $WORK/dl
trap 'rm -rf "$WORK"' EXIT

# 3. Download (cached by file name, which carries the version).
download() {
	local pkg=$1 ver=$2 deb
	deb=$(ls "$VM_DIR/debs/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n1 || true)
	if [ -z "$deb" ]; then
		say "downloading $pkg $ver" >&2
		mkdir -p "$WORK/dl"
		# apt-get download drops privileges to _apt: give it a directory it may write.
		if id _apt >/dev/null 2>&1; then chown _apt "$WORK/dl"; fi
		(cd "$WORK/dl" && apt-get download -q "$pkg=$ver" >&2)
		mv "$WORK/dl/${pkg}_"*.deb "$VM_DIR/debs/"
		deb=$(ls "$VM_DIR/debs/${pkg}_${ver//:/%3a}_"*.deb | head -n1)
	fi
	echo "$deb"
}
DEBS=("$(download "$KPKG" "$KVER")")
for p in "${EXTRA_PKGS[@]}"; do
	DEBS+=("$(download "$p" "$(apt-cache show --no-all-versions "$p" | awk '$1 == "Version:" { print $2; exit }')")")
done
# Drop debs of other versions so the cache does not grow with every point release.
for d in "$VM_DIR"/debs/*.deb; do
	keep=no
	for k in "${DEBS[@]}"; do [ "$d" = "$k" ] && keep=yes; done
	[ $keep = yes ] || rm -f "$d"
done

# 4. Extract the whole package (≈ 4 s), then keep only the modules the guest needs.
say "extracting ${DEBS[*]##*/}"
mkdir -p "$WORK/x"
for d in "${DEBS[@]}"; do dpkg-deb --fsys-tarfile "$d" | tar -x -C "$WORK/x"; done
MODBASE=
for m in "$WORK/x/lib/modules" "$WORK/x/usr/lib/modules"; do
	[ -d "$m" ] && MODBASE=$m
done
[ -n "$MODBASE" ] || die "no lib/modules in ${DEBS[*]}"
KRELEASE=$(ls "$MODBASE" | head -n1)
VMLINUZ=$(ls "$WORK"/x/boot/vmlinuz-* | head -n1)
depmod -b "${MODBASE%/lib/modules}" "$KRELEASE"

# modprobe against the extracted tree; -C /dev/null keeps the host's modprobe.d out of it.
show_deps() {
	modprobe -C /dev/null -d "${MODBASE%/lib/modules}" -S "$KRELEASE" --show-depends "$1" 2>/dev/null |
		awk '$1 == "insmod" { print $2 }'
}

# Boot-time modules: what /init needs to reach the 9p root and see the disks.
BOOT_MODS=(virtio_pci virtio_blk 9pnet_virtio 9p overlay)
# Guest modules: loaded later with the guest's own modprobe.
# Real disk buses (vmtest Disk.Bus): ahci for sata, virtio_scsi and mptsas (LSI SAS HBA) for
# scsi/sas, nvme; sg for SCSI pass-through (smartctl, sg_inq).
GUEST_MODS=("${BOOT_MODS[@]}" virtio_rng virtio_scsi mptsas ahci sd_mod sg nvme loop ext4 vfat
	nls_cp437 nls_ascii nls_iso8859-1 nls_utf8 crc32c_generic crc32c-intel efivarfs)
while IFS= read -r ko; do
	m=${ko##*/}
	GUEST_MODS+=("${m%%.ko*}")
done < <(find "$MODBASE/$KRELEASE/kernel/drivers/md" -name '*.ko*')

: >"$WORK/keep"
for m in "${GUEST_MODS[@]}"; do
	if ! show_deps "$m" >>"$WORK/keep"; then
		# Built into the kernel (or absent in this flavour): nothing to copy.
		grep -q "/${m//-/[-_]}\.ko" "$MODBASE/$KRELEASE/modules.builtin" ||
			say "note: module $m not in $KPKG"
	fi
done
for m in md-mod raid1 dm-mod loop ext4 9p overlay virtio_blk; do
	grep -q "/${m//-/[-_]}\.ko" "$WORK/keep" "$MODBASE/$KRELEASE/modules.builtin" ||
		die "required module $m is neither a module nor built into $KPKG"
done

NEW="$VM_DIR.new"
rm -rf "$NEW"
mkdir -p "$NEW/lib/modules/$KRELEASE"
sort -u "$WORK/keep" | while IFS= read -r ko; do
	rel=${ko#"$MODBASE/$KRELEASE/"}
	mkdir -p "$NEW/lib/modules/$KRELEASE/${rel%/*}"
	cp "$ko" "$NEW/lib/modules/$KRELEASE/$rel"
done
cp "$MODBASE/$KRELEASE"/modules.order "$MODBASE/$KRELEASE"/modules.builtin* "$NEW/lib/modules/$KRELEASE/"
depmod -b "$NEW" "$KRELEASE"
# The closure came from the full tree's modules.dep, so it is complete by construction;
# check that every dependency the subset's modules.dep names was copied.
tr ' ' '\n' <"$NEW/lib/modules/$KRELEASE/modules.dep" | sed -n 's/:$//; /\.ko/p' | sort -u |
	while IFS= read -r rel; do
		[ -f "$NEW/lib/modules/$KRELEASE/$rel" ] || die "module subset lacks $rel"
	done
cp "$VMLINUZ" "$NEW/vmlinuz"
# Also keep the uncompressed ELF: QEMU boots it through its PVH entry, skipping the BIOS
# path and the in-guest decompression (≈ 3 s under TCG). vmtest falls back to vmlinuz.
extract_vmlinux() {
	local magic cmd off
	for magic in $'\xfd7zXZ:xz -dc --single-stream' $'\x28\xb5\x2f\xfd:zstd -qdc' $'\x1f\x8b\x08:gzip -dc'; do
		cmd=${magic#*:}
		for off in $(LC_ALL=C grep -abFo "${magic%%:*}" "$VMLINUZ" | cut -d: -f1 | head -n3); do
			tail -c +$((off + 1)) "$VMLINUZ" | $cmd >"$NEW/vmlinux" 2>/dev/null || true
			if [ "$(head -c4 "$NEW/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ]; then
				return 0
			fi
		done
	done
	rm -f "$NEW/vmlinux"
	return 1
}
if grep -qx 'CONFIG_PVH=y' "$WORK"/x/boot/config-*; then
	extract_vmlinux || say "note: cannot decompress the vmlinux in $KPKG; booting vmlinuz"
fi
echo "$KRELEASE" >"$NEW/kernel-release"

# 5. Initramfs: busybox, the boot modules in dependency order, /init.
IR="$WORK/initramfs"
mkdir -p "$IR/bin" "$IR/lib/modules" "$IR/dev" "$IR/proc" "$IR/sys" "$IR/newroot" "$IR/lower" "$IR/rw"
cp /bin/busybox "$IR/bin/busybox"
: >"$IR/lib/modules/load"
declare -A seen=()
for m in "${BOOT_MODS[@]}"; do
	while IFS= read -r ko; do
		[ -n "${seen[$ko]:-}" ] && continue
		seen[$ko]=1
		base=${ko##*/}
		case $base in
		*.ko.xz) xz -dc "$ko" >"$IR/lib/modules/${base%.xz}"; base=${base%.xz} ;;
		*.ko.zst) zstd -qdc "$ko" >"$IR/lib/modules/${base%.zst}"; base=${base%.zst} ;;
		*.ko.gz) gzip -dc "$ko" >"$IR/lib/modules/${base%.gz}"; base=${base%.gz} ;;
		*) cp "$ko" "$IR/lib/modules/$base" ;;
		esac
		echo "$base" >>"$IR/lib/modules/load"
	done < <(show_deps "$m")
done

cat >"$IR/init" <<'EOF'
#!/bin/busybox sh
# vmtest initramfs: host / (9p, read-only) + tmpfs overlay becomes the guest root; then the
# harness's stage2 (on the control share) runs as PID 1. Any failure here ends in a kernel
# panic, which with panic=-1 and -no-reboot ends QEMU at once.
/bin/busybox --install -s /bin
export PATH=/bin
fail() { echo "vmtest-init: $*"; exit 1; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /lib/modules/load); do insmod "/lib/modules/$m" || fail "insmod $m"; done
arg() { for w in $(cat /proc/cmdline); do case $w in "$1="*) echo "${w#*=}" ;; esac; done; }
MODDIR=$(arg vmtest.moddir)
[ -n "$MODDIR" ] || fail "no vmtest.moddir= on the kernel command line"
O=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o "$O,ro,cache=loose" hostroot /lower || fail "mount host root"
mount -t tmpfs -o mode=0755 rw /rw || fail "mount tmpfs"
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
	fail "mount overlay"
for d in proc sys dev; do mount --move "/$d" "/newroot/$d" || fail "move /$d"; done
mount -t tmpfs -o mode=0755,nosuid,nodev run /newroot/run || fail "mount /run"
mkdir -p /newroot/run/vmtest "/newroot/lib/modules/$(uname -r)"
mount -t 9p -o "$O" vmtestctl /newroot/run/vmtest || fail "mount control share"
mount --bind "/newroot$MODDIR/lib/modules/$(uname -r)" "/newroot/lib/modules/$(uname -r)" ||
	fail "bind modules from $MODDIR"
[ -f /newroot/run/vmtest/stage2 ] || fail "no stage2 on the control share"
exec switch_root /newroot /bin/bash /run/vmtest/stage2
EOF
chmod 0755 "$IR/init"
(cd "$IR" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$NEW/initrd.img"

# 6. Swap in atomically-ish; keep the downloaded debs.
mv "$VM_DIR/debs" "$NEW/debs"
printf '%s\nscript=%s lists=%s\n' "$STAMP" "$SELF_HASH" "$LISTS_SIG" >"$NEW/stamp"
rm -rf "$VM_DIR.old"
[ -d "$VM_DIR" ] && mv "$VM_DIR" "$VM_DIR.old"
mv "$NEW" "$VM_DIR"
rm -rf "$VM_DIR.old"
say "built $VM_DIR: $KPKG $KVER (release $KRELEASE), $(find "$VM_DIR/lib/modules" -name '*.ko*' | wc -l) modules ($(du -sh "$VM_DIR/lib/modules" | cut -f1)), initramfs $(du -h "$VM_DIR/initrd.img" | cut -f1) with $(wc -l <"$IR/lib/modules/load") boot modules$([ -f "$VM_DIR/vmlinux" ] && echo ", vmlinux for PVH boot")"
