package accounts_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/usersvc/usersvc/web/accounts"
	"github.com/usersvc/usersvc/web/accounts/accountstest"
)

func TestFilter(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"plain", "ann@example.com", `email ^= "ann@example.com"`},
		{"empty", "", `email ^= ""`},
		{"quote", `a"b`, `email ^= "a\"b"`},
		{"backslash", `a\b`, `email ^= "a\\b"`},
		{"backslash before quote", `\"`, `email ^= "\\\""`},
		{"breakout", `x" or email ^= "`, `email ^= "x\" or email ^= \""`},
		{"newline", "a\nb", `email ^= "a\u000ab"`},
		{"nul", "a\x00", `email ^= "a\u0000"`},
		{"delete", "a\x7f", `email ^= "a\u007f"`},
		{"C1 control", "a\u0085", `email ^= "a\u0085"`},
		{"line separator", "a\u2028", `email ^= "a\u2028"`},
		{"invalid UTF-8", "a\xffb", `email ^= "a\u00ffb"`},
		{"non-ASCII kept", "zoë@example.com", `email ^= "zoë@example.com"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := accounts.Filter("email", "^=", tt.value); got != tt.want {
				t.Errorf("Filter(%q) = %s, want %s", tt.value, got, tt.want)
			}
		})
	}
}

// FuzzFilter checks that no value escapes its quotes: read back with
// Cognito's escapes the filter has one attribute, one operator and the
// very value; read by a parser that only knows "backslash takes the next
// character" its closing quote is still the last byte; and no raw control
// byte is left in it.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{"", "ann@", `"`, `\`, `\"`, `" or sub = "`, "\n", "\x00", "\xff", "\u2028", `\u0022`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		filter := accounts.Filter("email", "^=", value)
		attr, op, got, err := accountstest.ParseFilter(filter)
		if err != nil {
			t.Fatalf("Filter(%q) = %s does not parse: %v", value, filter, err)
		}
		if attr != "email" || op != "^=" {
			t.Fatalf("Filter(%q) = %s reads as %s %s", value, filter, attr, op)
		}
		if utf8.ValidString(value) && got != value {
			t.Fatalf("Filter(%q) = %s reads back as %q", value, filter, got)
		}
		if !utf8.ValidString(filter) {
			t.Fatalf("Filter(%q) = %q is not UTF-8", value, filter)
		}
		if strings.ContainsFunc(filter, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("Filter(%q) = %q holds a raw control character", value, filter)
		}
		inside := filter[len(`email ^= "`):]
		for i := 0; i < len(inside); i++ {
			switch inside[i] {
			case '\\':
				i++
			case '"':
				if i != len(inside)-1 {
					t.Fatalf("Filter(%q) = %s: a quote ends the value at byte %d", value, filter, i)
				}
			}
		}
	})
}
