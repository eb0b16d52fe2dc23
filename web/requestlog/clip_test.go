package requestlog

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClip(t *testing.T) {
	long := "/" + strings.Repeat("a", 999)
	for _, tc := range []struct {
		name, in, want string
	}{
		{"short", "/user", "/user"},
		{"at the limit", long[:MaxLogged], long[:MaxLogged]},
		{"over the limit", long, long[:MaxLogged] + "…(truncated, 1000 bytes)"},
		// "é" is two bytes; the 128th byte would split the one at 127-128.
		{"on a character boundary", "/" + strings.Repeat("a", 126) + "é" + "zz", "/" + strings.Repeat("a", 126) + "…(truncated, 131 bytes)"},
		{"invalid UTF-8", "/a\xffb", "/a?b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Clip(tc.in); got != tc.want {
				t.Errorf("Clip(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzClip: whatever a client sends, the clipped string is valid UTF-8,
// keeps at most MaxLogged bytes of it, and is marked when it was cut.
func FuzzClip(f *testing.F) {
	for _, s := range []string{"", "/", "/user?x=1", strings.Repeat("é", 100), "/\xff\xfe" + strings.Repeat("a", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Clip(s)
		if !utf8.ValidString(got) {
			t.Fatalf("Clip(%q) = %q: invalid UTF-8", s, got)
		}
		valid := strings.ToValidUTF8(s, "?")
		if len(valid) <= MaxLogged {
			if got != valid {
				t.Fatalf("Clip(%q) = %q, want it whole", s, got)
			}
			return
		}
		mark := "…(truncated, " + strconv.Itoa(len(s)) + " bytes)"
		kept, ok := strings.CutSuffix(got, mark)
		if !ok || len(kept) > MaxLogged || !strings.HasPrefix(valid, kept) || len(kept) < MaxLogged-utf8.UTFMax {
			t.Fatalf("Clip(%q) = %q: want at most %d bytes of it, marked %q", s, got, MaxLogged, mark)
		}
	})
}
