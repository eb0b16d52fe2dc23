package admin_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzScreens sends arbitrary search text, page tokens, trails, usernames
// and form bodies: every answer is a page with a known status, never a
// panic or a 500, and the stub pool is never changed without Confirm.
func FuzzScreens(f *testing.F) {
	f.Add("ann", "", "", "ada", "confirm=yes")
	f.Add(`x" or email ^= "`, "tok-1", "", "%2F..%2F", "confirm=no&confirm=yes")
	f.Add("\x00\n\xff", "forged", "tok-0", "user/x/y", "%zz")
	f.Add(strings.Repeat("a", 300), "tok-999999999999999999999", "\u2028", "", "email=a%40b&admin=yes")
	f.Fuzz(func(t *testing.T, email, page, back, username, body string) {
		e := newEnv(t)
		before := e.user(t, e.carl)
		q := url.Values{"email": {email}, "page": {page}, "back": {back}}
		for _, target := range []string{
			"/admin/accounts?" + q.Encode(),
			"/admin/accounts/find?" + url.Values{"id": {username}}.Encode(),
			"/admin/accounts/user/" + url.PathEscape(username),
		} {
			r := httptest.NewRequest(http.MethodGet, target, nil)
			r.AddCookie(&http.Cookie{Name: "who", Value: "ada"})
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, r)
			switch w.Code {
			// 301 and 307: the mux cleans "." and ".." out of a path.
			case http.StatusOK, http.StatusSeeOther, http.StatusBadRequest, http.StatusNotFound, http.StatusMovedPermanently, http.StatusTemporaryRedirect:
			default:
				t.Fatalf("GET %s: %d\n%s", target, w.Code, w.Body)
			}
			if !utf8.Valid(w.Body.Bytes()) {
				t.Fatalf("GET %s: the page is not UTF-8", target)
			}
		}
		for _, target := range []string{"/admin/accounts/user/" + url.PathEscape(e.carl.Username) + "/disable", "/admin/accounts/invite"} {
			r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.AddCookie(&http.Cookie{Name: "who", Value: "ada"})
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, r)
			if w.Code >= 500 {
				t.Fatalf("POST %s %q: %d\n%s", target, body, w.Code, w.Body)
			}
		}
		form, _ := url.ParseQuery(body)
		if form.Get("confirm") != "yes" {
			if after := e.user(t, e.carl); after.Enabled != before.Enabled {
				t.Fatalf("carl changed without Confirm by %q", body)
			}
		}
	})
}
