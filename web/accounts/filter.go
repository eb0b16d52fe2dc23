package accounts

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Filter returns the ListUsers filter `attr op "value"` with value quoted
// for Cognito's filter syntax, so that whatever a person typed is matched
// as text and never read as more of the filter. attr and op are the
// caller's constants ("email", "^="), never input.
func Filter(attr, op, value string) string {
	var b strings.Builder
	b.Grow(len(attr) + len(op) + len(value) + 8)
	b.WriteString(attr)
	b.WriteByte(' ')
	b.WriteString(op)
	b.WriteString(` "`)
	b.WriteString(Quote(value))
	b.WriteByte('"')
	return b.String()
}

// Quote escapes s for the inside of a double-quoted filter value: a
// backslash before each quote and backslash (Cognito's documented escape),
// and control characters and invalid UTF-8 bytes as \uXXXX, so that the
// value cannot end the quoted string early, and no byte a log or a parser
// could take for a line break or a terminator reaches Cognito raw. Every
// escape starts with a backslash, so a reader that takes the character
// after a backslash literally also finds the closing quote where it is.
func Quote(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == utf8.RuneError && size == 1:
			writeU(&b, rune(s[i]))
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			writeU(&b, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func writeU(b *strings.Builder, r rune) {
	const hex = "0123456789abcdef"
	b.WriteString(`\u`)
	for shift := 12; shift >= 0; shift -= 4 {
		b.WriteByte(hex[r>>shift&0xf])
	}
}
