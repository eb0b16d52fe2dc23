package jwtauth

import (
	"strings"
	"testing"
)

func TestClip(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"kid-1", `"kid-1"`},
		{strings.Repeat("a", 128), `"` + strings.Repeat("a", 128) + `"`},
		{strings.Repeat("a", 200), `"` + strings.Repeat("a", 128) + `"…(truncated, 200 bytes)`},
		// A cut never splits a character.
		{strings.Repeat("a", 127) + "é" + "zz", `"` + strings.Repeat("a", 127) + `"…(truncated, 131 bytes)`},
		{"line\nbreak", `"line\nbreak"`},
	} {
		if got := clip(c.in); got != c.want {
			t.Errorf("clip(%.20q...) = %q, want %q", c.in, got, c.want)
		}
	}
}
