#!/bin/bash
# copyright.sh BINARY — writes /usr/share/doc/raidswap/copyright for the package: raidswap's own
# notice, then, for the Go toolchain's standard library and every module linked into BINARY
# (as `go version -m` lists them), the module's license files from the module cache, verbatim
# (the Apache License 2.0 by reference to /usr/share/common-licenses, as Debian Policy 12.5 asks).
# A static Go binary carries all of that code, so the package carries all of those licenses.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:?usage: copyright.sh BINARY}
die() { printf 'copyright: %s\n' "$*" >&2; exit 1; }

licenses() { # the license files of a module directory
	find "$1" -maxdepth 1 -type f \( -iname 'LICEN[CS]E*' -o -iname 'UNLICEN[CS]E*' -o -iname 'COPYING*' -o -iname 'NOTICE*' -o -iname 'PATENTS' \) | LC_ALL=C sort
}
section() { # NAME VERSION DIR
	local files
	files=$(licenses "$3")
	[ -n "$files" ] || die "$1 $2: no license file in $3"
	printf '\n%s\n%s %s\n' "------------------------------------------------------------------------" "$1" "$2"
	for f in $files; do
		printf '\n== %s ==\n\n' "$(basename "$f")"
		if grep -q 'Apache License' "$f" && grep -q 'Version 2\.0' "$f" && grep -q 'TERMS AND CONDITIONS' "$f"; then
			# Debian Policy 12.5: licenses in /usr/share/common-licenses are referred to.
			printf 'Licensed under the Apache License, Version 2.0. On Debian systems the full\ntext of the license is in /usr/share/common-licenses/Apache-2.0.\n'
			continue
		fi
		sed 's/[[:space:]]*$//' "$f"
	done
}

cat <<'EOF'
raidswap
========

Upstream: https://github.com/raidswap/raidswap
Copyright: the raidswap authors (the commits in the repository's history).

The raidswap repository has not published a license for its own code yet: until it does,
this file grants none. The package is built from that repository by packaging/build-deb.sh.

The raidswap binary is a static Go program: it contains the Go standard library and the
modules below, whose license files follow verbatim.
EOF

goroot=$(go env GOROOT)
section "Go standard library and runtime" "$(go env GOVERSION)" "$goroot"
mods=$(go version -m "$bin" | awk '$1 == "dep" { print $2, $3 }')
[ -n "$mods" ] || die "go version -m $bin lists no modules"
while read -r path ver; do
	dir=$(go list -m -f '{{.Dir}}' "$path" 2>/dev/null) || die "module $path is not in this tree's build list"
	[ -n "$dir" ] || die "module $path $ver is not downloaded (go mod download)"
	have=$(go list -m -f '{{.Version}}' "$path")
	[ "$have" = "$ver" ] || die "module $path: the binary has $ver, go.mod $have"
	section "$path" "$ver" "$dir"
done <<<"$mods"
