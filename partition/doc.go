// Package partition owns the partition table of the new disk: it reads the survivor's table
// (GPT or DOS with extended/logical partitions), plans the same layout for the new disk with
// starts aligned for it, checks that the new disk is free to be written, backs up both
// tables, writes the new one, makes the kernel see it, and reads everything back.
//
// It reads and writes sectors of the two disks it is given and issues the block ioctls for
// them (BLKRRPART, BLKPG, BLKZEROOUT); every other read of /proc, /sys, /dev, /run and /etc
// goes through a host.Root. The only commands it runs, through a host.Runner, are libblkid's
// read-only probes (`wipefs --no-act --json`, `blkid -p`): libblkid, not a private list of
// magics, decides whether a target holds data, and a target it cannot probe is refused. It
// never touches an md array: it reads md superblocks to size the new partitions and to
// refuse wiping what may be an array's last copy.
//
// # API for the replacement engine
//
//	d, _ := partition.Open(path, partition.OpenOptions{})          // read-only; Write: O_EXCL + flock
//	id, _ := partition.Identify(root, d)                             // kernel name + serial
//	src, _ := partition.Read(d)                                      // Table (bytes, not LBAs)
//	needs, _ := partition.ReadMemberNeeds(d, src)                    // md data offset + component size per partition
//	lay, moves, err := partition.PlanClone(src, target.Geometry(), needs, partition.PlanOptions{})
//	err = partition.CheckTarget(root, targetID)                      // in use? (holders, md, mounts, swap, loop)
//	sigs, err := partition.HoldsData(root, runner, path)             // libblkid + own readers; refuse unless wiping
//	err = partition.GuardLastCopy(root, targetID, sigs)              // a known array's newest member: refused even with --wipe
//	dir, _ := partition.Backup(paths.Host().Backups, d, id, &src, time.Now())
//	rep, err := partition.Write(targetRW, lay)                       // validate, wipe stale metadata, write, sync
//	up, err := partition.UpdateKernel(root, targetRW, targetID.Name, lay) // BLKRRPART, else BLKPG per partition
//	err = partition.Verify(targetRW, lay)                            // read back: own reader + go-diskfs
//	err = partition.VerifyKernel(root, targetID.Name, lay)           // sysfs start/size per partition
//
// Clone runs all of that in order for `raidswap partition clone`. A Layout is plain data
// (JSON): a plan step can carry it and Write refuses it if the disk's geometry changed.
// Refusals are *RefusedError with a Refusal kind (in-use, existing-data, too-small,
// sector-size-change, unrepresentable, unsupported, same-disk, cannot-probe, last-copy); a
// table that does not read back is a *VerifyError.
//
// # What a target holds
//
//	libblkid (wipefs on the disk, blkid -p on each old, kernel and new partition) finds something -> existing data
//	raidswap's reader finds a table, an md superblock, a BSD label or a known magic             -> existing data
//	wipefs or blkid cannot run or fails                                                          -> cannot-probe
//	an md superblock of an array in mdadm.conf, the inventory or /sys/block/md*, and no other
//	  present disk holds an active member of it with as many events                            -> last-copy (even with --wipe)
//	an md superblock of an array this host never knew                                          -> existing data (--wipe destroys it)
//
// # Decisions
//
// Each partition, in start order:
//
//	start before the end of the previous partition (or the table area)  -> shifted to the next grain boundary
//	start not on a target physical sector                                -> realigned to the next grain boundary
//	otherwise                                                            -> same byte offset
//	size not whole target logical sectors                                -> rounded up (never shrinks)
//
// The grain is 1 MiB when every source partition starts on a MiB boundary, else the target's
// physical sector. The last partition may end past the target's usable area only if it holds
// an md member and still gets the member's need (then it is cut, reported as "shrunk");
// otherwise the plan is refused with the shortfall in bytes. A target with larger logical
// sectors than an md source is refused without AllowSectorSizeChange (mdadm#187), and an md
// data offset or component size that is not whole target sectors is refused outright (mdadm
// copies both to the new member; on a 4Kn disk the kernel accepts that member and its writes
// at the unaligned end then fail with I/O errors).
//
// go-diskfs v1.9.4 renders the GPT and the four MBR entries into memory from a fresh table
// (its Read keeps the source geometry, an empty disk GUID differs between headers, its
// protective MBR wraps over 2 TiB, it does not validate, it has no extended partitions);
// this package writes the protective MBR, the disk signature and the EBR chain itself,
// parses the rendering back before writing, and verifies the disk afterwards.
package partition
