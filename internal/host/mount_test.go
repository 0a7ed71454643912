package host

import "testing"

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/mnt/a\040b`:       "/mnt/a b",
		`\011tab\012nl`:     "\ttab\nnl",
		`back\134slash`:     `back\slash`,
		`plain`:             "plain",
		`trailing\04`:       `trailing\04`,
		`not\999octal`:      `not\999octal`,
		`\040`:              " ",
		`x\`:                `x\`,
		`/var/lib/\134\040`: `/var/lib/\ `,
	} {
		if got := UnescapeMount(in); got != want {
			t.Errorf("UnescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}
