# raidswap — see README.md. Targets that boot VMs or install packages need root.
export PATH := /usr/local/go/bin:$(PATH)
export CGO_ENABLED := 0
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/raidswap/raidswap/internal/cli.Version=$(VERSION)

.PHONY: all build deps test unit tooltest race vm-test bench lint man demo completion deb drill clean

all: build

build:
	go build -trimpath -ldflags "$(LDFLAGS)" -o bin/raidswap ./cmd/raidswap

# deps installs Debian packages, Go, the Go modules and the VM kernel (idempotent).
deps:
	bash scripts/install-deps.sh

# test installs what the tests need (deps), then runs every test phase by phase: check-tools,
# unit, tool tests, the VM suite, race; it prints each phase's time (scripts/test.sh).
test:
	bash scripts/test.sh --install

# unit runs the tests that need no VM and no external tool of their own: a few minutes at most.
unit:
	go test -count=1 -skip '^(TestVM|TestTool)' ./...

# tooltest runs the tests named TestTool*: they check contrib/ and packaging/ with the tools
# that read them (ansible-playbook, promtool, systemd-analyze, dpkg-deb, lintian, dpkg), which
# scripts/install-deps.sh installs; each one takes seconds to minutes.
tooltest:
	go test -count=1 -run '^TestTool' ./...

# race runs the packages whose goroutines share a terminal under the race detector (cgo: gcc).
race:
	CGO_ENABLED=1 go test -race -count=1 -skip 'TestVM' ./internal/view/ ./internal/cli/

vm-test: deps
	go test -count=1 -timeout 85m -run 'TestVM' ./...

bench: deps build
	go test -run '^$$' -bench . -benchtime 1x -timeout 30m ./...

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet ./...

man: build
	bin/raidswap man --dir man

completion: build
	mkdir -p bin/completion
	bin/raidswap completion bash > bin/completion/raidswap.bash
	bin/raidswap completion zsh > bin/completion/_raidswap

# deb builds bin/raidswap_<version>_amd64.deb with dpkg-deb (part of dpkg, Essential on every
# Debian and Ubuntu: no packaging tool to install); packaging/README.md says what it holds.
# Install it with `sudo apt install ./bin/raidswap_*.deb`, which also installs its Depends.
deb:
	bash packaging/build-deb.sh

# demo boots the VM, builds a two-disk RAID1 like the seed's, fails one disk and runs status.
demo: deps build
	go run ./internal/vmtest/vmrun --disk WD-DEMO-A:1G --disk WD-DEMO-B:1G --timeout 5m --script scripts/demo.sh --env RAIDSWAP=$(CURDIR)/bin/raidswap

# drill boots the VM and runs `raidswap drill --auto` in it (this machine's kernel may lack md):
# throw-away RAID1 disks on loop devices, a disk replaced, verified, scored, cleaned up. The
# recipe exits with the drill's code (vmrun passes the guest's on; `go run` would say 1), and
# make fails when it is not 0. DRILL_ARGS="--scenario all" runs every scenario.
drill: deps build
	go build -o bin/vmrun ./internal/vmtest/vmrun
	bin/vmrun --mem 2048 --timeout 15m --script scripts/drill.sh --env RAIDSWAP=$(CURDIR)/bin/raidswap --env DRILL_ARGS="$(DRILL_ARGS)"

clean:
	rm -rf bin man .cache
