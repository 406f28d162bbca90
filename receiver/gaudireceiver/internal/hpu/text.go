package hpu

import (
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// MaxTextLen bounds every string a source reports, in bytes. HLML's string buffers hold 256
// bytes (Habana's gohlml); the longest value seen on real devices, a firmware (FIT) version
// string, is about 120.
const MaxTextLen = 256

// CheckText says why s cannot be an attribute value, or returns "" when it can: it must be
// valid UTF-8, at most MaxTextLen bytes, and hold only printable characters (letters, marks,
// numbers, punctuation, symbols and the ASCII space: unicode.IsPrint). That keeps NUL, DEL,
// terminal escape sequences, line breaks and bidirectional overrides out of labels and log
// lines, and invalid UTF-8 out of the Prometheus exporter, which drops a whole metric for it.
// It allocates only for a string it rejects.
func CheckText(s string) string {
	if len(s) > MaxTextLen {
		return fmt.Sprintf("longer than %d bytes (%d)", MaxTextLen, len(s))
	}
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return fmt.Sprintf("not valid UTF-8 (byte %d)", i)
			}
		}
		if !unicode.IsPrint(r) {
			return fmt.Sprintf("unprintable character %U (byte %d)", r, i)
		}
	}
	return ""
}

// PrintableName says whether a counter name from outside (a driver, a file name) can become an
// attribute value and a selector in the config: CheckText's rule narrowed to what the drivers' names
// are, non-empty printable ASCII of at most 64 bytes.
func PrintableName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// maxQuoted is how much of a rejected string QuoteText shows.
const maxQuoted = 64

// QuoteText quotes a string from outside for an error message or a log line: Go-escaped, so
// every byte is visible and printable, and cut after maxQuoted bytes.
func QuoteText(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:maxQuoted]) + "..."
}
