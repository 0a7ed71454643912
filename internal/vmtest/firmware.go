package vmtest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Firmware is what the VM boots with.
type Firmware string

// Firmwares.
const (
	// BIOS is SeaBIOS, QEMU's default: the guest sees no /sys/firmware/efi.
	BIOS Firmware = "bios"
	// UEFI is OVMF as two pflash devices (read-only code, a writable copy of the variable
	// store), so the guest has efivars and efibootmgr writes boot entries that the next boot
	// with the same vars file reads back.
	UEFI Firmware = "uefi"
)

// OVMF files of Debian's ovmf package. The 4M build is the one Debian 12 boots with
// pflash; its code and vars files must be used as a pair.
const (
	ovmfCode = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	ovmfVars = "/usr/share/OVMF/OVMF_VARS_4M.fd"
)

func (f Firmware) valid() bool { return f == "" || f == BIOS || f == UEFI }

func (f Firmware) uefi() bool { return f == UEFI }

// ovmfAvailable says why OVMF cannot be used here, or nil.
func ovmfAvailable() error {
	for _, p := range []string{ovmfCode, ovmfVars} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("vmtest: UEFI needs OVMF (apt-get install ovmf): %w", err)
		}
	}
	return nil
}

// NewUEFIVars writes a fresh copy of OVMF's empty variable store to path (which must not
// exist): give it to Config.UEFIVars and BootConfig.UEFIVars to carry boot entries from one
// boot to the next.
func NewUEFIVars(path string) error {
	if err := ovmfAvailable(); err != nil {
		return err
	}
	src, err := os.Open(ovmfVars)
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	defer src.Close()
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	_, err = io.Copy(dst, src)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("vmtest: copying OVMF vars: %w", err)
	}
	return nil
}

// CopyFile copies an image (a disk or a vars file) so a test can boot the same state twice
// in different ways. dst must not exist.
func CopyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("vmtest: copying %s: %w", src, err)
	}
	return nil
}

// firmwareArgs are QEMU's firmware options; vars is the writable variable store for UEFI.
func firmwareArgs(f Firmware, vars string) []string {
	if !f.uefi() {
		return nil
	}
	return []string{
		"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + qemuOpt(ovmfCode),
		"-drive", "if=pflash,format=raw,unit=1,file=" + qemuOpt(vars),
	}
}

// uefiVarsFor returns the vars file of a run: the caller's, or a fresh copy in runDir.
func uefiVarsFor(f Firmware, given, runDir string) (string, error) {
	if !f.uefi() {
		if given != "" {
			return "", errors.New("vmtest: UEFIVars is set but Firmware is not UEFI")
		}
		return "", nil
	}
	if err := ovmfAvailable(); err != nil {
		return "", err
	}
	if given != "" {
		if _, err := os.Stat(given); err != nil {
			return "", fmt.Errorf("vmtest: UEFI vars: %w", err)
		}
		return given, nil
	}
	p := filepath.Join(runDir, "OVMF_VARS.fd")
	return p, NewUEFIVars(p)
}
