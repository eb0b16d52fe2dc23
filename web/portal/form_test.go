package portal

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/web/portal/pages"
)

func TestSafeReturn(t *testing.T) {
	tests := map[string]string{
		"":                        "/",
		"/":                       "/",
		"/user?UserId=a%20b":      "/user?UserId=a%20b",
		"/admin/users":            "/admin/users",
		"https://evil.example/":   "/",
		"//evil.example/":         "/",
		"/\\evil.example":         "/",
		"\\\\evil.example":        "/",
		"evil.example":            "/",
		"javascript:alert(1)":     "/",
		"/%0d%0aSet-Cookie:x":     "/%0d%0aSet-Cookie:x",
		"/a\r\nLocation: //evil":  "/",
		"/auth/login":             "/",
		"/auth/callback?code=x":   "/",
		"/x#frag":                 "/x",
		"http:/evil":              "/",
		"/ok?next=//evil.example": "/ok?next=//evil.example",
		"/%2F ":                   "/",
		"/%2Fevil.example":        "/%2Fevil.example", // a path, not a host
	}
	for in, want := range tests {
		if got := safeReturn(in); got != want {
			t.Errorf("safeReturn(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzSafeReturn(f *testing.F) {
	for _, s := range []string{"/", "//x", "/\\x", "https://x", "/a?b=c", "/%2F%2Fx", "/\tx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := safeReturn(in)
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.HasPrefix(got, "/\\") {
			t.Fatalf("safeReturn(%q) = %q: not a local path", in, got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" {
			t.Fatalf("safeReturn(%q) = %q: parses as %v, %v", in, got, u, err)
		}
	})
}

func TestHostedUI(t *testing.T) {
	tests := []struct{ configured, auth, want string }{
		{"", "https://pool.auth.eu-west-1.amazoncognito.com/oauth2/authorize", "https://pool.auth.eu-west-1.amazoncognito.com"},
		{"", "http://localhost:9229/oauth2/authorize", "http://localhost:9229"},
		{"", "https://idp.example/tenant/oauth2/authorize", "https://idp.example/tenant"},
		{"", "https://idp.example/authorize", "https://idp.example"},
		{"https://auth.example.com/", "https://x/oauth2/authorize", "https://auth.example.com"},
	}
	for _, tt := range tests {
		u, err := hostedUI(tt.configured, tt.auth)
		if err != nil || u.String() != tt.want {
			t.Errorf("hostedUI(%q, %q) = %v, %v; want %s", tt.configured, tt.auth, u, err, tt.want)
		}
	}
}

// FuzzBuildItem: whatever is typed into the form, building the item never
// panics, and an item it accepts has the User ID and encodes as the JSON
// object the API expects.
func FuzzBuildItem(f *testing.F) {
	f.Add("ada", `{"a": 1}`, "n", "number", "1.5")
	f.Add("", "", "", "string", "")
	f.Add("x", `[1]`, "b", "boolean", "TRUE")
	f.Add("x", `{"UserId": "x", "z": {"y": [null]}}`, "j", "json", `{"k": 1e400}`)
	f.Add("x", `{"a": 1} {}`, "n", "null", "null")
	f.Add("\x00", "{", "\n", "weird", "\xff")
	f.Fuzz(func(t *testing.T, id, attrs, name, typ, value string) {
		f := pages.CreateForm{UserID: id, Attributes: attrs, Rows: []pages.Row{{Name: name, Type: typ, Value: value}, {}}}
		item, ferr := buildItem(f)
		if ferr != nil {
			if ferr.msg == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		if item[api.AttrUserID] != strings.TrimSpace(id) {
			t.Fatalf("UserId %v, want %q", item[api.AttrUserID], strings.TrimSpace(id))
		}
		if _, err := json.Marshal(map[string]any{"User": item}); err != nil {
			t.Fatalf("accepted item does not encode: %v", err)
		}
	})
}
