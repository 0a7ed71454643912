package bootloader

import (
	"fmt"
	"strings"
)

// ESPView is what a reader saw of one ESP: the files booting from it depends on (the loader's
// directory and the fallback directory EFI/BOOT, loaderFiles), or why it could not be read.
// Two readers make it: VerifyUEFI from the ESP mounted read-only (exec's postcondition), and
// status from the raw FAT file system (readESPImage), which never mounts.
type ESPView struct {
	// Dev is the block device read: /dev/vda1, or the md array holding the ESP.
	Dev string
	// Name is how a reason names this ESP as the one compared with ("vda (WD-A)'s"); "the
	// one on Dev" when empty.
	Name  string
	Err   error
	Files []File
}

func (v ESPView) name() string {
	if v.Name != "" {
		return v.Name
	}
	return "the one on " + v.Dev
}

// UEFIJudgeIn is what one disk's UEFI readiness is judged from.
type UEFIJudgeIn struct {
	// Loader is the ESP path of the loader the boot entries name: EFI/debian/grubx64.efi.
	Loader        string
	HasESP        bool
	OthersHaveESP bool
	PARTUUID      string
	// MDArray is the md array the ESP partition Member is a member of ("" for a plain ESP),
	// MDState the member's state there ("" when discovery did not know it).
	Member, MDArray, MDState string
	Self                     ESPView
	// Refs are the ESPs to compare with: the survivor's when SurvivorNamed, else every
	// other disk's.
	Refs          []ESPView
	SurvivorNamed bool
	// Entries are the firmware's boot entries; nil when EntriesWhy says why they could not
	// be read.
	Entries    *BootVars
	EntriesWhy string
}

// JudgeUEFI is the one judgement of whether a disk boots alone by UEFI, for status, the
// wizard, the drill's card and exec's postcondition alike; a pure function of what a reader
// saw. A disk boots alone when:
//   - it has an ESP, and an ESP on md is a member in sync (the firmware reads the partition,
//     which holds the whole ESP only then);
//   - the ESP holds the loader and the removable fallback path;
//   - the files booting depends on (the loader's directory and EFI/BOOT) are those of the
//     survivor's ESP (of every other readable ESP when no survivor is named): a differing
//     loader or grub.cfg stub boots something else;
//   - a firmware boot entry boots the loader, or the fallback path, from the ESP's PARTUUID.
//
// With the boot entries unreadable the disk is ok by the fallback path only, and the reason
// says so. It judges nothing it could not read: unknown, with the reason. entry is the boot
// entry that boots the disk (Boot0003), "" when none.
func JudgeUEFI(in UEFIJudgeIn) (r Readiness, entry string) {
	say := func(state BootState, format string, a ...any) (Readiness, string) {
		return Readiness{State: state, Reason: fmt.Sprintf(format, a...)}, ""
	}
	s := in.Self
	switch {
	case !in.HasESP && in.OthersHaveESP:
		return say(BootMissing, "no EFI System Partition on this disk, while another disk has one")
	case !in.HasESP:
		return say(BootMissing, "no EFI System Partition on any disk")
	case in.Loader == "":
		return say(BootUnknown, "the loader is not known: no mounted ESP showed it (see the notes)")
	case in.MDArray != "" && in.MDState == "":
		return say(BootUnknown, "its ESP %s is a member of %s whose state md did not show", in.Member, in.MDArray)
	case in.MDArray != "" && in.MDState != "in_sync":
		return say(BootMissing, "its ESP %s is %s in %s, not in sync: the firmware reads the partition itself, which does not hold the whole ESP", in.Member, in.MDState, in.MDArray)
	case s.Err != nil:
		return say(BootUnknown, "its ESP %s could not be read: %v", s.Dev, s.Err)
	case !hasFile(s.Files, in.Loader):
		return say(BootMissing, "its ESP %s has no %s", s.Dev, in.Loader)
	case !hasFile(s.Files, FallbackPath):
		return say(BootMissing, "its ESP %s has no removable fallback path %s", s.Dev, FallbackPath)
	}
	var notCompared []string
	for _, ref := range in.Refs {
		switch {
		case ref.Err != nil && in.SurvivorNamed:
			return say(BootUnknown, "the survivor's ESP %s could not be read to compare %s with: %v", ref.Dev, in.Loader, ref.Err)
		case ref.Err != nil:
			notCompared = append(notCompared, ref.Dev)
		case !hasFile(ref.Files, in.Loader) && in.SurvivorNamed:
			return say(BootUnknown, "the survivor's ESP %s has no %s to compare with", ref.Dev, in.Loader)
		case !hasFile(ref.Files, in.Loader):
			notCompared = append(notCompared, ref.Dev)
		default:
			if m := Mismatch(loaderFiles(ref.Files, in.Loader), loaderFiles(s.Files, in.Loader)); m != "" {
				return say(BootMissing, "its ESP %s differs from %s: %s", s.Dev, ref.name(), m)
			}
		}
	}
	note := ""
	if len(notCompared) > 0 {
		note = fmt.Sprintf(" (not compared with %s: unreadable or without the loader)", strings.Join(notCompared, ", "))
	}
	if in.Entries == nil {
		return say(BootOK, "%s and %s on %s: boots by the fallback path; boot entries not readable (%s)%s", in.Loader, FallbackPath, s.Dev, in.EntriesWhy, note)
	}
	en := in.Entries.EntryFor(in.PARTUUID, LoaderPathEFI(in.Loader))
	if en == nil {
		en = in.Entries.EntryFor(in.PARTUUID, LoaderPathEFI(FallbackPath))
	}
	if en == nil || in.PARTUUID == "" {
		return say(BootMissing, "no firmware boot entry boots %s from its ESP %s (PARTUUID %s); the fallback path is there", LoaderPathEFI(in.Loader), s.Dev, orUnknownPARTUUID(in.PARTUUID))
	}
	member := ""
	if in.MDArray != "" {
		member = fmt.Sprintf(" (its member %s in sync)", in.Member)
	}
	files := in.Loader + " and " + FallbackPath
	if strings.EqualFold(in.Loader, FallbackPath) {
		files = FallbackPath + " (the removable-media loader, which the entry boots)"
	}
	return Readiness{State: BootOK, Reason: fmt.Sprintf("%s on %s%s, boot entry Boot%s %q%s", files, s.Dev, member, en.Num, en.Label, note)}, "Boot" + en.Num
}
