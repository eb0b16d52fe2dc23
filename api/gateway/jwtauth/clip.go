package jwtauth

import (
	"strconv"
	"unicode/utf8"
)

// maxLogged bounds a string from a token (a kid) in an error or log line:
// a refused token's header can carry 16 KB, and refusals are logged.
const maxLogged = 128

// clip quotes s for a log line, cut to maxLogged bytes (on a character
// boundary) and marked when it was cut, so that a token can neither bloat
// the log nor pass off a cut value as the whole.
func clip(s string) string {
	if len(s) <= maxLogged {
		return strconv.Quote(s)
	}
	cut := maxLogged
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…(truncated, " + strconv.Itoa(len(s)) + " bytes)"
}
