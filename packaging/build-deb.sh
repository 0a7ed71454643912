#!/bin/bash
# build-deb.sh — builds raidswap's Debian package, bin/raidswap_<version>_amd64.deb (`make deb`).
#
# The package is put together by hand and built with dpkg-deb --root-owner-group: dpkg-deb is
# part of dpkg, which is Essential on every Debian and Ubuntu system, so building the package
# needs nothing beyond Go and this repository (no debhelper, no nfpm, no root). What goes in
# is listed in packaging/README.md; packaging/deb_test.go checks it and runs lintian on it.
#
#   build-deb.sh [--out DIR]       build the package into DIR (default bin/), print its path
#   build-deb.sh --print-version   print the Debian version this tree gets and exit
#
# The version comes from git: a tag vX.Y.Z on HEAD gives X.Y.Z; N commits after the tag,
# X.Y.Z+gitYYYYMMDD.N.HASH; no tag, 0.0~gitYYYYMMDD.HASH (the date is the commit's, in UTC);
# uncommitted changes add +dirty. The package's version is that upstream version with the
# Debian revision -1 (the packaging is not the upstream source's own: the changelog is
# changelog.Debian.gz); the binary's --version says the upstream version. DEB_VERSION
# overrides the upstream version. File times are the commit's (SOURCE_DATE_EPOCH), so the same
# commit builds the same package.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { printf 'build-deb: %s\n' "$*" >&2; exit 1; }

out=bin
case "${1:-}" in
--print-version) mode=version ;;
--out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; mode=build ;;
"") mode=build ;;
*) die "usage: build-deb.sh [--out DIR] | --print-version" ;;
esac

debian_version() {
	[ -n "${DEB_VERSION:-}" ] && { echo "$DEB_VERSION"; return; }
	git rev-parse HEAD >/dev/null 2>&1 || die "not a git checkout: set DEB_VERSION"
	local hash date tag n v
	hash=$(git rev-parse --short=12 HEAD)
	date=$(TZ=UTC git show -s --format=%cd --date=format-local:%Y%m%d HEAD)
	if tag=$(git describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null); then
		n=$(git rev-list --count "$tag..HEAD")
		v=${tag#v}
		[ "$n" = 0 ] || v="$v+git$date.$n.$hash"
	else
		v="0.0~git$date.$hash"
	fi
	[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || v="$v+dirty"
	echo "$v"
}
version=$(debian_version)
[[ $version =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || die "version $version is not a Debian upstream version (digits first, then [A-Za-z0-9.+~])"
debversion=$version-1
if [ "$mode" = version ]; then
	echo "$debversion"
	exit 0
fi

# Go: the version go.mod names. As root on a machine without it, install it the way the rest of
# the project does (scripts/install-deps.sh --build installs only what building needs).
export PATH=/usr/local/go/bin:$PATH CGO_ENABLED=0
want=$(awk '$1 == "go" { print $2; exit }' go.mod)
have=$(go env GOVERSION 2>/dev/null | sed 's/^go//' || true)
if [ -z "$have" ] || [ "$(printf '%s\n%s\n' "$have" "$want" | sort -V | head -n1)" != "$want" ]; then
	[ "$(id -u)" = 0 ] || die "Go $want is needed (found: ${have:-none}): run sudo make deb, or sudo bash scripts/install-deps.sh --build"
	bash scripts/install-deps.sh --build
fi
command -v dpkg-deb >/dev/null || die "dpkg-deb is missing (it is part of dpkg: is this a Debian or Ubuntu system?)"

epoch=${SOURCE_DATE_EPOCH:-$(git show -s --format=%ct HEAD 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH=$epoch
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/raidswap
umask 022

d() { install -d -m 0755 "$root/$1"; }
d DEBIAN
d usr/sbin
d usr/share/man/man8
d usr/share/bash-completion/completions
d usr/share/zsh/vendor-completions
d usr/lib/systemd/system
d usr/share/doc/raidswap/examples
d usr/share/lintian/overrides

# The static binary, and the name mdadm's PROGRAM calls it by (`raidswap event --install` from
# /usr/sbin/raidswap names /usr/sbin/raidswap-event: internal/event.ProgramFor).
go build -trimpath -ldflags "-s -w -X github.com/raidswap/raidswap/internal/cli.Version=$version" \
	-o "$root/usr/sbin/raidswap" ./cmd/raidswap
chmod 0755 "$root/usr/sbin/raidswap"
ln -s raidswap "$root/usr/sbin/raidswap-event"
rs=$root/usr/sbin/raidswap

# Man pages (section 8: a tool for root), one per command, as `raidswap man` writes them.
mkdir "$tmp/man"
"$rs" man --dir "$tmp/man" >/dev/null
ls "$tmp/man"/*.8 >/dev/null 2>&1 || die "raidswap man wrote no section-8 pages into $tmp/man"
for f in "$tmp/man"/*.8; do
	install -m 0644 "$f" "$root/usr/share/man/man8/"
done
gzip -9n "$root"/usr/share/man/man8/*.8

"$rs" completion bash >"$root/usr/share/bash-completion/completions/raidswap"
"$rs" completion zsh >"$root/usr/share/zsh/vendor-completions/_raidswap"

# The systemd units from contrib/systemd, naming the packaged binary. They are not enabled:
# README and the timer's comment say how (systemctl enable --now raidswap-inventory.timer).
for u in raidswap-inventory.service raidswap-inventory.timer; do
	sed -e 's#/usr/local/sbin/raidswap#/usr/sbin/raidswap#g' \
		-e '/^# Install: cp /d' \
		-e 's#^\#          systemctl daemon-reload; systemctl enable --now#\# Enable: systemctl enable --now#' \
		"contrib/systemd/$u" >"$root/usr/lib/systemd/system/$u"
	! grep -q /usr/local/ "$root/usr/lib/systemd/system/$u" || die "$u still names /usr/local"
done
grep -q '^ExecStart=/usr/sbin/raidswap ' "$root/usr/lib/systemd/system/raidswap-inventory.service" ||
	die "raidswap-inventory.service does not run /usr/sbin/raidswap"

# Documentation.
doc=$root/usr/share/doc/raidswap
install -m 0644 docs/runbook.md "$doc/runbook.md"
install -m 0644 packaging/mdadm.conf "$doc/examples/mdadm.conf"
bash packaging/copyright.sh "$rs" >"$doc/copyright"
install -m 0644 packaging/lintian-overrides "$root/usr/share/lintian/overrides/raidswap"
maint=$(sed -n 's/^Maintainer: //p' packaging/control)
{
	printf 'raidswap (%s) unstable; urgency=medium\n\n' "$debversion"
	printf '  * Built from git commit %s.\n\n' "$(git rev-parse HEAD 2>/dev/null || echo unknown)"
	printf ' -- %s  %s\n' "$maint" "$(LC_ALL=C date -u -R -d "@$epoch")"
} | gzip -9n >"$doc/changelog.Debian.gz"

# Control: the template without its comments, then the checksums of every file.
size=$(du -sk --apparent-size --exclude=DEBIAN "$root" | cut -f1)
grep -v '^#' packaging/control | sed -e "s/@VERSION@/$debversion/" -e "s/@INSTALLED_SIZE@/$size/" >"$root/DEBIAN/control"
(cd "$root" && find usr -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

find "$root" -depth -exec touch -h -d "@$epoch" {} +
mkdir -p "$out"
# Only this build's package stays in DIR: `apt install ./bin/raidswap_*.deb` must match one file.
rm -f "$out"/raidswap_*_amd64.deb
deb="$out/raidswap_${debversion}_amd64.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
