package vmtest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// qmpConn is a minimal QMP client: one command at a time, events kept until asked for.
type qmpConn struct {
	c      net.Conn
	r      *bufio.Reader
	events []qmpMsg
}

type qmpMsg struct {
	Event  string          `json:"event"`
	Data   json.RawMessage `json:"data"`
	Return json.RawMessage `json:"return"`
	Error  *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
	QMP json.RawMessage `json:"QMP"`
}

func dialQMP(path string, timeout time.Duration) (*qmpConn, error) {
	c, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return nil, fmt.Errorf("qmp: %w", err)
	}
	q := &qmpConn{c: c, r: bufio.NewReader(c)}
	if _, err := q.read(timeout); err != nil { // greeting
		c.Close()
		return nil, err
	}
	if _, err := q.execute("qmp_capabilities", nil, timeout); err != nil {
		c.Close()
		return nil, err
	}
	return q, nil
}

func (q *qmpConn) Close() error { return q.c.Close() }

func (q *qmpConn) read(timeout time.Duration) (qmpMsg, error) {
	var m qmpMsg
	if err := q.c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return m, err
	}
	line, err := q.r.ReadBytes('\n')
	if err != nil {
		return m, fmt.Errorf("qmp: %w", err)
	}
	if err := json.Unmarshal(line, &m); err != nil {
		return m, fmt.Errorf("qmp: %q: %w", line, err)
	}
	return m, nil
}

// execute runs one command and returns its "return" value.
func (q *qmpConn) execute(cmd string, args any, timeout time.Duration) (json.RawMessage, error) {
	req := map[string]any{"execute": cmd}
	if args != nil {
		req["arguments"] = args
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if err := q.c.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	if _, err := q.c.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("qmp %s: %w", cmd, err)
	}
	for {
		m, err := q.read(timeout)
		if err != nil {
			return nil, fmt.Errorf("qmp %s: %w", cmd, err)
		}
		switch {
		case m.Event != "":
			q.events = append(q.events, m)
		case m.Error != nil:
			return nil, fmt.Errorf("qmp %s: %s: %s", cmd, m.Error.Class, m.Error.Desc)
		case m.Return != nil:
			return m.Return, nil
		}
	}
}

// waitEvent waits for an event whose data has "device" == device.
func (q *qmpConn) waitEvent(name, device string, timeout time.Duration) error {
	match := func(m qmpMsg) bool {
		if m.Event != name {
			return false
		}
		var d struct {
			Device string `json:"device"`
		}
		return json.Unmarshal(m.Data, &d) == nil && d.Device == device
	}
	for i, m := range q.events {
		if match(m) {
			q.events = append(q.events[:i], q.events[i+1:]...)
			return nil
		}
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		m, err := q.read(time.Until(deadline))
		if err != nil {
			return fmt.Errorf("waiting for %s of %s: %w", name, device, err)
		}
		if match(m) {
			return nil
		}
	}
	return fmt.Errorf("no %s event for %s within %s", name, device, timeout)
}

// hotplug serves the guest's vmtest-hotplug requests: files "<id>.req" in the control dir's
// req/ holding "unplug SERIAL" or "plug SERIAL", answered by "<id>.done" ("ok" or an error).
type hotplug struct {
	dir      string
	qmpPath  string
	disks    []diskPlan
	attached map[string]bool // by serial
	q        *qmpConn
}

func newHotplug(p vmPlan) *hotplug {
	h := &hotplug{dir: filepath.Join(p.Control, "req"), qmpPath: p.QMP, disks: p.Disks, attached: map[string]bool{}}
	for _, d := range p.Disks {
		h.attached[d.Serial] = !d.Unplugged
	}
	return h
}

func (h *hotplug) close() {
	if h.q != nil {
		h.q.Close()
	}
}

// poll answers every pending request; the caller calls it periodically.
func (h *hotplug) poll() {
	ents, err := os.ReadDir(h.dir)
	if err != nil {
		return
	}
	var reqs []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".req") {
			reqs = append(reqs, e.Name())
		}
	}
	sort.Strings(reqs)
	for _, name := range reqs {
		p := filepath.Join(h.dir, name)
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		os.Remove(p)
		ans := "ok"
		// "OP SERIAL": the serial is the rest of the line (it may hold spaces).
		op, serial, _ := strings.Cut(strings.TrimRight(string(b), "\n"), " ")
		if note, err := h.do([]string{op, serial}); err != nil {
			ans = "error: " + strings.ReplaceAll(err.Error(), "\n", " ")
		} else if note != "" {
			ans = "ok-nowait " + note
		}
		base := strings.TrimSuffix(name, ".req")
		tmp := filepath.Join(h.dir, "."+base+".done")
		if os.WriteFile(tmp, []byte(ans+"\n"), 0o644) == nil {
			os.Rename(tmp, filepath.Join(h.dir, base+".done"))
		}
	}
}

// do runs one request. A non-empty note means the guest will not see the change by itself
// (sas: the HBA sends no hot-plug event); the guest helper then prints the note instead of
// waiting.
func (h *hotplug) do(f []string) (note string, err error) {
	if len(f) != 2 || f[0] == "" || f[1] == "" {
		return "", fmt.Errorf("bad request %q", strings.Join(f, " "))
	}
	var d *diskPlan
	n := 0
	for i := range h.disks {
		if h.disks[i].Serial == f[1] {
			d = &h.disks[i]
			n++
		}
	}
	if d == nil {
		return "", fmt.Errorf("no disk with serial %s in Config.Disks", f[1])
	}
	if n > 1 {
		return "", fmt.Errorf("serial %s names %d disks (Config.DuplicateSerials); twins cannot be hot-plugged", f[1], n)
	}
	if f[0] == "plug" && d.Bus == BusSAS {
		// A device_add would succeed but the guest would never see the disk (no event).
		return "", fmt.Errorf("%s: QEMU's mptsas1068 does not hot-plug (the guest gets no event)", d.Serial)
	}
	if h.q == nil {
		q, err := dialQMP(h.qmpPath, 5*time.Second)
		if err != nil {
			return "", err
		}
		h.q = q
	}
	switch f[0] {
	case "unplug":
		if !h.attached[d.Serial] {
			return "", fmt.Errorf("%s is not plugged in", d.Serial)
		}
		if _, err := h.q.execute("device_del", map[string]any{"id": d.DevID}, 10*time.Second); err != nil {
			return "", err
		}
		// The guest acknowledges the ACPI eject (virtio, nvme); only then is the device gone.
		if err := h.q.waitEvent("DEVICE_DELETED", d.DevID, 20*time.Second); err != nil {
			return "", err
		}
		h.attached[d.Serial] = false
		if d.Bus == BusSAS {
			return "the mptsas1068 HBA tells the guest nothing: the sdX entry stays and its I/O fails (DID_NO_CONNECT), like a dead drive behind a SAS HBA", nil
		}
		return "", nil
	case "plug":
		if h.attached[d.Serial] {
			return "", fmt.Errorf("%s is already plugged in", d.Serial)
		}
		if _, err := h.q.execute("device_add", d.qmpArgs(), 10*time.Second); err != nil {
			return "", err
		}
		h.attached[d.Serial] = true
		return "", nil
	}
	return "", errors.New("unknown operation " + f[0])
}
