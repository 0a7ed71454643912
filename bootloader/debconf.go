package bootloader

import (
	"strings"
)

// Debconf's answers about GRUB's install devices (Debian and Ubuntu).

// DebconfGrubEFIQuestion is Ubuntu's list of the ESPs GRUB is installed on.
const DebconfGrubEFIQuestion = "grub-efi/install_devices"

// DebconfOwner is the first package owning a debconf question (its "Owners:" field), "" when
// the question is not there.
func DebconfOwner(b []byte, name string) string {
	for _, stanza := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n\n") {
		fields := map[string]string{}
		for _, line := range strings.Split(stanza, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, " ") {
				fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
		if fields["Name"] == name {
			owner, _, _ := strings.Cut(fields["Owners"], ",")
			return strings.TrimSpace(owner)
		}
	}
	return ""
}

// DebconfValue reads one question's value from debconf's config.dat (RFC 822-style stanzas:
// "Name:", "Value:", ...). A multiselect value is split at ", ". found says the question
// exists.
func DebconfValue(b []byte, name string) (values []string, found bool) {
	for _, stanza := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n\n") {
		fields := map[string]string{}
		for _, line := range strings.Split(stanza, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, " ") {
				fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
		if fields["Name"] != name {
			continue
		}
		for _, v := range strings.Split(fields["Value"], ",") {
			if v = strings.TrimSpace(v); v != "" {
				values = append(values, v)
			}
		}
		return values, true
	}
	return nil, false
}
