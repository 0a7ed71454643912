#!/bin/bash
# install-deps.sh — everything raidswap's build and tests need on a fresh Debian or Ubuntu
# machine, as root: Debian packages, the Go toolchain named in go.mod (from the Go module
# proxy when the machine's is missing or older), the Go modules, and the VM kernel and
# initramfs (scripts/vm-assets.sh). Idempotent: a second run only checks.
#
#   install-deps.sh           everything (make deps)
#   install-deps.sh --build   only what building bin/raidswap and its package needs (make deb
#                             on a server): git, make, Go and the Go modules; dpkg-deb is in
#                             dpkg, which is Essential
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf 'install-deps: %s\n' "$*"; }
[ "$(id -u)" = 0 ] || { echo "install-deps: run as root (sudo make ...)" >&2; exit 1; }

PKGS=(ca-certificates curl unzip make git tmux util-linux mount fdisk gdisk mdadm e2fsprogs dosfstools procps
	grub2-common grub-pc-bin grub-efi-amd64-bin ovmf efibootmgr ledmon f2fs-tools smartmontools debconf
	systemd prometheus ansible-core
	lintian dmsetup udev lvm2 cryptsetup-bin
	gcc libc6-dev)
BUILD_PKGS=(ca-certificates curl unzip make git)
build_only=false
case "${1:-}" in
--build) build_only=true; PKGS=("${BUILD_PKGS[@]}") ;;
"") ;;
*) echo "usage: install-deps.sh [--build]" >&2; exit 64 ;;
esac
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Go: the version go.mod asks for, as the toolchain module the Go proxy serves.
want=$(awk '$1 == "go" { print $2; exit }' go.mod)
export PATH=/usr/local/go/bin:$PATH
have=$(go env GOVERSION 2>/dev/null | sed 's/^go//' || true)
older() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" != "$2" ]; }
if [ -z "$have" ] || older "$have" "$want"; then
	say "installing Go $want into /usr/local/go (found: ${have:-none})"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	curl -fsSL -o "$tmp/go.zip" "https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-go${want}.linux-amd64.zip"
	unzip -q "$tmp/go.zip" -d "$tmp"
	rm -rf /usr/local/go
	mv "$tmp/golang.org/toolchain@v0.0.1-go${want}.linux-amd64" /usr/local/go
	chmod +x /usr/local/go/bin/* /usr/local/go/pkg/tool/*/* 2>/dev/null || true
fi
say "$(go version)"
go mod download
$build_only && exit 0
bash scripts/vm-assets.sh
