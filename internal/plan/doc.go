// Package plan turns what discovery saw (a discover.System) and what the operator asked for (a
// Request) into a Plan: the ordered, exact steps of a disk replacement, as plain, versioned
// data that can be read, reviewed, saved and applied later. A plan is bound to disk serials,
// array UUIDs and member states through its fingerprint, never to /dev/sdX names, which
// change after a hot-swap; it carries a checksum so a hand-edited plan is refused.
//
// This package builds, checks and saves plans (Write, as JSON). It never runs a command and
// never reads the system (discovery reads the host facts it needs into discover.System):
// showing a plan is package internal/view's job, applying one is package internal/exec's.
package plan
