package plan

import "strings"

// Command is a step's argv as one line a person can read and type (arguments with spaces
// or shell metacharacters quoted). Derive's refusal of an edited step and every view show
// it, so the quoting lives here, next to the argv it quotes.
func Command(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$`\\|&;<>()*?[]#~") {
			parts[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		} else {
			parts[i] = a
		}
	}
	return strings.Join(parts, " ")
}
