package partition

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/raidswap/raidswap/internal/host"
)

// libblkid, through util-linux's wipefs and blkid, is the authority for "this disk holds
// something": it knows every file system, RAID, crypto and partition-table signature the
// field knows, where raidswap's own list knows a dozen.

// probeTimeout bounds the wipefs and blkid runs for one disk.
const probeTimeout = 30 * time.Second

// HoldsData reports what the disk or image at dev holds: everything libblkid finds on the
// whole disk and on every partition of its current table (raidswap's reader and the
// kernel's), together with what raidswap's own readers find (md superblocks with their
// array and role, and the few labels libblkid's probes skip). An empty result means the
// disk holds nothing either knows. When the prober cannot run, the disk is not assumed
// empty: the error is a *RefusedError of kind RefuseCannotProbe.
func HoldsData(root *host.Root, runner host.Runner, dev string) ([]Signature, error) {
	d, err := Open(dev, OpenOptions{})
	if err != nil {
		return nil, err
	}
	defer d.Close()
	id, err := Identify(root, d)
	if err != nil {
		return nil, err
	}
	return holdsData(root, runner, d, id, nil)
}

// holdsData is HoldsData on an open disk; the planned layout's partitions, if given, are
// probed too, since the new table would expose what lies there.
func holdsData(root *host.Root, runner host.Runner, d *Disk, id DiskID, lay *Layout) ([]Signature, error) {
	var kernel []KernelPartition
	if id.Name != "" {
		k, err := KernelPartitions(root, id.Name)
		if err != nil {
			return nil, cannotProbe(id, err)
		}
		kernel = k
	}
	own, vols, err := findSignatures(d, kernel, lay)
	if err != nil {
		return nil, cannotProbe(id, err)
	}
	if runner == nil {
		return nil, cannotProbe(id, errors.New("no command runner to run wipefs and blkid with"))
	}
	lib, err := probeLibblkid(runner, d.Path(), d.Geometry(), vols)
	if err != nil {
		return nil, cannotProbe(id, err)
	}
	return mergeSignatures(own, lib), nil
}

// InspectTarget is the check a replacement makes of the new disk before it plans to write
// it, the same one Clone makes: it refuses a disk that may hold the last copy of an array this
// host knows (whatever wipe says), and one that holds anything libblkid or raidswap's readers
// find unless wipe.
func InspectTarget(root *host.Root, runner host.Runner, dev string, wipe bool) error {
	d, err := Open(dev, OpenOptions{})
	if err != nil {
		return err
	}
	defer d.Close()
	id, err := Identify(root, d)
	if err != nil {
		return err
	}
	_, err = inspectTarget(root, runner, d, id, nil, wipe)
	return err
}

// inspectTarget finds what the target holds and refuses it as InspectTarget says.
func inspectTarget(root *host.Root, runner host.Runner, d *Disk, id DiskID, lay *Layout, wipe bool) ([]Signature, error) {
	found, err := holdsData(root, runner, d, id, lay)
	if err != nil {
		return nil, err
	}
	// Before the --wipe question: a last copy is refused either way, and "pass --wipe"
	// would be bad advice.
	if err := GuardLastCopy(root, id, found); err != nil {
		return found, err
	}
	if len(found) > 0 && !wipe {
		var what []string
		for _, s := range found {
			what = append(what, s.String())
		}
		return found, withDevice(refuse(RefuseExistingData, "it already holds data: %s; pass --wipe to destroy it", strings.Join(what, "; ")), id.Path, id.Serial)
	}
	return found, nil
}

func cannotProbe(id DiskID, err error) error {
	return &RefusedError{Kind: RefuseCannotProbe, Device: id.Path, Serial: id.Serial,
		Reason: fmt.Sprintf("cannot tell whether it holds data: %v", err), Err: err}
}

// probeLibblkid runs wipefs on the whole disk (every signature, with its offset) and blkid
// on every other volume (wipefs cannot probe at an offset of an image file).
func probeLibblkid(runner host.Runner, path string, g Geometry, vols []volume) ([]Signature, error) {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	res, err := runner.Run(ctx, host.Wipefs, "--no-act", "--json", "--output", "OFFSET,TYPE,USAGE,LABEL,UUID", path)
	if err != nil {
		return nil, err
	}
	out, err := parseWipefs(res.Stdout)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", host.Wipefs, err)
	}
	for _, v := range vols {
		if v.start == 0 && v.size == g.Size {
			continue
		}
		res, err := runner.Run(ctx, host.Blkid, "-p", "-o", "export", "-O", strconv.FormatInt(v.start, 10), "-S", strconv.FormatInt(v.size, 10), path)
		code := res.ExitCode
		var ee *host.ExitError
		if err != nil && !errors.As(err, &ee) {
			return nil, err
		}
		// blkid exits 2 both for "nothing found" and for some errors; only its message tells
		// them apart. 8 is an ambivalent result: more than one signature.
		if code == 2 && strings.TrimSpace(string(res.Stderr)) == "" {
			continue
		}
		if code != 0 && code != 8 {
			return nil, err
		}
		what := "more than one signature (libblkid: ambivalent result)"
		if code == 0 {
			if what, err = describeBlkid(res.Stdout); err != nil {
				return nil, fmt.Errorf("%s: %w", host.Blkid, err)
			}
		}
		out = append(out, Signature{Offset: v.start, What: what, Volume: v.what, FoundBy: "libblkid"})
	}
	return out, nil
}

// parseWipefs reads `wipefs --no-act --json` output. An empty output is no signature (older
// util-linux prints nothing then).
func parseWipefs(b []byte) ([]Signature, error) {
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil, nil
	}
	var doc struct {
		Signatures []struct {
			Offset string  `json:"offset"`
			Type   string  `json:"type"`
			Usage  string  `json:"usage"`
			Label  *string `json:"label"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("unreadable JSON: %w", err)
	}
	var out []Signature
	for _, s := range doc.Signatures {
		off, err := strconv.ParseInt(s.Offset, 0, 64)
		if err != nil || off < 0 {
			return nil, fmt.Errorf("signature %q at unreadable offset %q", s.Type, s.Offset)
		}
		if s.Type == "" {
			return nil, fmt.Errorf("signature at offset %q without a type", s.Offset)
		}
		what := describeType(s.Type, s.Usage)
		if s.Label != nil && *s.Label != "" {
			what += fmt.Sprintf(" labelled %q", *s.Label)
		}
		out = append(out, Signature{Offset: off, What: what, Volume: "the disk", FoundBy: "libblkid"})
	}
	return out, nil
}

// describeBlkid names what `blkid -p -o export` found.
func describeBlkid(b []byte) (string, error) {
	v := parseExport(b)
	switch {
	case v["PTTYPE"] != "" && v["TYPE"] != "":
		return describeType(v["TYPE"], v["USAGE"]) + " and " + describeType(v["PTTYPE"], "partition-table"), nil
	case v["PTTYPE"] != "":
		return describeType(v["PTTYPE"], "partition-table"), nil
	case v["TYPE"] != "":
		return describeType(v["TYPE"], v["USAGE"]), nil
	}
	return "", errors.New("a result without TYPE or PTTYPE")
}

// parseExport reads blkid's KEY=value lines.
func parseExport(b []byte) map[string]string {
	v := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, val, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			v[k] = val
		}
	}
	return v
}

func describeType(typ, usage string) string {
	switch usage {
	case "filesystem":
		return typ + " file system"
	case "partition-table":
		return typ + " partition table"
	case "raid":
		return typ + " (RAID member)"
	case "crypto":
		return typ + " (encrypted volume)"
	}
	return typ + " signature"
}

// mergeSignatures joins raidswap's findings (which name md arrays and tables in detail) with
// libblkid's, leaving out a libblkid finding that says the same: one at the same offset, a
// table raidswap read, or anything on a volume raidswap already found something on.
func mergeSignatures(own, lib []Signature) []Signature {
	out := append([]Signature(nil), own...)
	at := map[int64]bool{}
	onVolume := map[string]bool{}
	table := false
	for _, s := range own {
		at[s.Offset] = true
		if s.Volume != "the disk" {
			onVolume[s.Volume] = true
		}
		if s.Table != "" {
			table = true
		}
	}
	for _, s := range lib {
		switch {
		case at[s.Offset], onVolume[s.Volume]:
			continue
		case table && s.Volume == "the disk" && (strings.HasPrefix(s.What, "gpt ") || strings.HasPrefix(s.What, "PMBR ") || strings.HasPrefix(s.What, "dos ")):
			continue
		}
		out = append(out, s)
	}
	return out
}
