// Package identify names physical disks: kernel name, serial, model, WWN, size, sector sizes,
// by-id and by-path links, and (in later work) enclosure bay and locate LED. It reads through
// ghw and host.Root only and never writes; identity must be enough for an operator to pull
// the right drive from a chassis, and for a plan to be bound to serials rather than to
// /dev/sdX names.
package identify
