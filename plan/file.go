package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/raidswap/raidswap/internal/host"
)

// Seal sets the plan's checksum. Build seals; nothing else should change a plan after.
func (p *Plan) Seal() error {
	sum, err := p.checksum()
	if err != nil {
		return err
	}
	p.Checksum = sum
	return nil
}

func (p *Plan) checksum() (string, error) {
	c := *p
	c.Checksum = ""
	b, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("hashing plan: %w", err)
	}
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:]), nil
}

// ID names the plan in journals: the first 12 hex digits of its checksum.
func (p *Plan) ID() string {
	s := strings.TrimPrefix(p.Checksum, "sha256:")
	if len(s) > 12 {
		s = s[:12]
	}
	return s
}

// Write writes the plan as indented JSON.
func (p *Plan) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// Read parses a plan file and refuses one of another format or whose checksum does not
// match (edited by hand or damaged). Whether it belongs to this machine is CheckHost's.
func Read(r io.Reader) (*Plan, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading plan: %w", err)
	}
	var head struct {
		Format *int `json:"format"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, &InvalidError{Reason: fmt.Sprintf("not a raidswap plan: %v", err)}
	}
	if head.Format == nil {
		return nil, &InvalidError{Reason: "not a raidswap plan: no format version"}
	}
	if *head.Format != FormatVersion {
		return nil, &InvalidError{Reason: fmt.Sprintf("plan format %d; this raidswap applies format %d only: build a new plan", *head.Format, FormatVersion)}
	}
	var p Plan
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, &InvalidError{Reason: fmt.Sprintf("the plan does not parse (edited by hand?): %v", err)}
	}
	sum, err := p.checksum()
	if err != nil {
		return nil, err
	}
	if sum != p.Checksum {
		return nil, &InvalidError{Reason: "its checksum does not match its content: it was edited by hand or damaged; build a new plan instead of editing one"}
	}
	return &p, nil
}

// CheckHost refuses a plan built on another machine.
func (p *Plan) CheckHost(h Host) error {
	if p.Host.MachineID == "" || h.MachineID == "" {
		return &InvalidError{Reason: "the plan or this machine has no machine-id, so raidswap cannot tell the plan is for this machine"}
	}
	if p.Host.MachineID != h.MachineID {
		return &InvalidError{Reason: fmt.Sprintf("the plan was built on %s (machine-id %s), this is %s (machine-id %s)",
			p.Host.Hostname, p.Host.MachineID, h.Hostname, h.MachineID)}
	}
	return nil
}

// ReadHost reads the machine's name and machine-id, and whether it booted by UEFI, through
// the Root.
func ReadHost(root *host.Root) (Host, string, error) {
	var h Host
	h.Hostname, _ = root.ReadString("/proc/sys/kernel/hostname")
	id, err := root.ReadString("/etc/machine-id")
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return h, "", fmt.Errorf("reading /etc/machine-id: %w", err)
		}
		if id, err = root.ReadString("/var/lib/dbus/machine-id"); err != nil {
			return h, "", fmt.Errorf("no machine-id in /etc/machine-id or /var/lib/dbus/machine-id: %w", err)
		}
	}
	h.MachineID = id
	fw := FirmwareBIOS
	if root.Exists("/sys/firmware/efi") {
		fw = FirmwareUEFI
	}
	return h, fw, nil
}
