// Package contrib holds no code: it is the examples shipped beside raidswap (systemd units,
// Prometheus alert rules, an Ansible role) and the tests that check them with the tools
// that will read them (systemd-analyze, promtool, ansible-playbook).
package contrib
