#!/bin/bash
# check-tools.sh — every tool raidswap or its tests run must come from a package the set-up
# scripts install (scripts/install-deps.sh, scripts/vm-assets.sh) or from an essential one. A
# tool installed by hand on a development machine or CI hides a missing install step until a
# fresh machine runs the tests; this check finds it on the machine that has it too.
#
# The tools: every path in internal/host/tools.go (what raidswap runs), and the commands the
# tests and VM guest scripts call, listed below. Run after scripts/install-deps.sh.
set -uo pipefail
cd "$(dirname "$0")/.."

# Commands the tests, the VM harness and its guest scripts call besides internal/host/tools.go.
TEST_TOOLS=(
	qemu-system-x86_64 busybox cpio gzip zstd depmod modprobe udevadm pgrep timeout
	mdadm sgdisk sfdisk fdisk partx losetup blockdev wipefs blkid dmsetup
	mkfs.ext4 mkfs.vfat mkfs.minix mkfs.f2fs mkswap swapon swapoff mount umount
	grub-install sha256sum dd flock tmux curl unzip make git smartctl
	dpkg-deb lintian systemd-analyze
)

# The package names the set-up installs: the words of its PKGS=(...) arrays.
setup_pkgs=" $(awk '/^[A-Z_]*PKGS=\(/ { on = 1; sub(/^[A-Z_]*PKGS=\(/, "") }
	on { line = $0; if (sub(/\).*/, "", line)) on = 0; printf "%s ", line }' scripts/install-deps.sh scripts/vm-assets.sh | tr -s '\t ' '  ') "

owner() { # the Debian package that holds one of the given files, across the /usr merge
	local p
	for p in "$@"; do
		for q in "$p" "${p#/usr}" "/usr$p"; do
			dpkg -S "$q" 2>/dev/null | head -n1 | cut -d: -f1 | grep . && return 0
		done
	done
	return 0
}

tools=$(grep -oE '"/(usr/)?s?bin/[^"]+"' internal/host/tools.go | tr -d '"')
bad=0
checked=0
for t in $(printf '%s\n' $tools "${TEST_TOOLS[@]}" | awk '!seen[$0]++'); do
	name=$(basename "$t")
	path=$(command -v "$name" 2>/dev/null || true)
	[ -n "$path" ] || { [ -x "$t" ] && path=$t; }
	if [ -z "$path" ]; then
		echo "check-tools: $name is not installed: no package the set-up installs provides it"
		bad=1
		continue
	fi
	real=$(readlink -f "$path")
	pkg=$(owner "$real" "$path")
	if [ -z "$pkg" ]; then
		echo "check-tools: $name ($real) belongs to no Debian package: install it through the set-up or drop it"
		bad=1
		continue
	fi
	checked=$((checked + 1))
	[ "$(dpkg-query -W -f='${Essential}${Priority}' "$pkg" 2>/dev/null)" = yesrequired ] && continue
	case $setup_pkgs in *" $pkg "*) continue ;; esac
	echo "check-tools: $name comes from package $pkg, which scripts/install-deps.sh and scripts/vm-assets.sh never install (it was installed by hand)"
	bad=1
done
if [ $bad = 0 ]; then
	echo "check-tools: all $checked tools come from packages the set-up installs"
fi
exit $bad
