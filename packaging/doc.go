// Package packaging holds no code: it is raidswap's Debian package (build-deb.sh, the control
// template, the copyright generator, the lintian overrides, the mdadm.conf example) and the
// tests that check it: that the control names the package of every tool raidswap runs
// (internal/host/tools.go), that lintian finds no error, what the package holds, and, in a VM,
// that it installs with dpkg -i, its units verify, and the installed raidswap runs a drill.
// BenchmarkVMDrill times that drill, VM boot included and inside the guest alone.
package packaging
