// Package identify names physical disks: kernel name, serial, model, WWN, size, sector sizes,
// by-id and by-path links, and the enclosure or PCIe slot (bay) each sits in. It reads through
// host.Root only. Its one kind of write is a bay LED (locate, fault): a kernel LED file
// written through host.Root, or ledctl run through host.Runner; nothing else is ever written.
// Identity must be enough for an operator to pull the right drive from a chassis, and for a
// plan to be bound to serials rather than to /dev/sdX names; where the kernel's data disagree,
// identify says so instead of guessing.
package identify
