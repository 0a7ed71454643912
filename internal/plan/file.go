package plan

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxFileBytes bounds a plan file: a real plan is tens of kilobytes, and a larger file is
// refused before it is read whole.
const MaxFileBytes = 16 << 20

// sealPrefix marks a plan's checksum as an HMAC-SHA256 under the host's plan key.
const sealPrefix = "hmac-sha256:"

// Seal sets the plan's checksum: an HMAC-SHA256 under key (the host's plan key, see
// internal/plankey) over the plan with the checksum empty. Build seals; nothing else should
// change a plan after.
func (p *Plan) Seal(key []byte) error {
	sum, err := p.mac(key)
	if err != nil {
		return err
	}
	p.Checksum = sum
	return nil
}

func (p *Plan) mac(key []byte) (string, error) {
	if len(key) == 0 {
		return "", errors.New("sealing plan: no plan key")
	}
	c := *p
	c.Checksum = ""
	b, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("hashing plan: %w", err)
	}
	h := hmac.New(sha256.New, key)
	h.Write(b)
	return sealPrefix + hex.EncodeToString(h.Sum(nil)), nil
}

// Verify refuses a plan whose seal is not this host's: edited by hand (even when its
// checksum was computed again), damaged, or sealed with another host's key.
func (p *Plan) Verify(key []byte) error {
	if !strings.HasPrefix(p.Checksum, sealPrefix) {
		return &InvalidError{Reason: "it is not sealed with a plan key (edited by hand?): build a new plan instead of editing one"}
	}
	want, err := p.mac(key)
	if err != nil {
		return err
	}
	if !hmac.Equal([]byte(want), []byte(p.Checksum)) {
		return &InvalidError{Reason: "its seal does not match its content under this host's plan key: it was edited by hand, damaged, or built on another machine; build a new plan instead of editing one"}
	}
	return nil
}

// ID names the plan in journals: the first 12 hex digits of its checksum.
func (p *Plan) ID() string {
	s := p.Checksum
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[i+1:]
	}
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

// Read parses a plan file and refuses one that is too large, of another format, or not
// sealed by key (edited by hand, damaged, or from another host). Whether it belongs to this
// machine is CheckHost's, whether its steps describe themselves CheckSteps'.
func Read(r io.Reader, key []byte) (*Plan, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading plan: %w", err)
	}
	if len(b) > MaxFileBytes {
		return nil, &InvalidError{Reason: fmt.Sprintf("the file is larger than %d MiB: not a raidswap plan", MaxFileBytes>>20)}
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
	if err := p.Verify(key); err != nil {
		return nil, err
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
