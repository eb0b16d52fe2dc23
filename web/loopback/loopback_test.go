package loopback_test

import (
	"testing"

	"github.com/usersvc/usersvc/web/loopback"
)

func TestIsLocal(t *testing.T) {
	for _, tt := range []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"LOCALHOST", true},
		{"localhost.", true},
		{"sub.localhost", true},
		{"Sub.LocalHost.", true},
		{"127.0.0.1", true},
		{"127.1.2.3", true},
		{"::1", true},
		{"[::1]", true},
		{"example.com", false},
		{"localhost.example.com", false},
		{"notlocalhost", false},
		{"128.0.0.1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"[::1", false},
		{"[]", false},
		{".", false},
		{"", false},
	} {
		if got := loopback.IsLocal(tt.host); got != tt.want {
			t.Errorf("IsLocal(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

// FuzzIsLocal: any input is answered without a panic, and the answer does
// not depend on the case of ASCII letters.
func FuzzIsLocal(f *testing.F) {
	for _, s := range []string{"localhost", "[::1]", "127.0.0.1", "a.localhost.", "example.com", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		upper := []byte(host)
		for i, c := range upper {
			if 'a' <= c && c <= 'z' {
				upper[i] = c - 'a' + 'A'
			}
		}
		if a, b := loopback.IsLocal(host), loopback.IsLocal(string(upper)); a != b {
			t.Fatalf("IsLocal(%q) = %v but IsLocal(%q) = %v", host, a, upper, b)
		}
	})
}
