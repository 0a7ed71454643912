package host

import (
	"strconv"
	"strings"
)

// UnescapeMount undoes the octal escapes the kernel writes in /proc/mounts, mountinfo and
// /proc/swaps, and that fstab uses (\040 for a space, \011 a tab, \012 a newline, \134 a
// backslash): every backslash followed by three octal digits is that byte.
func UnescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
