package idp

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestLogoutToSignIn: /logout with redirect_uri and response_type ends the
// session and goes to the sign-in page with the parameters, without asking
// for PKCE there; PKCE is enforced when the sign-in page reads the request.
func TestLogoutToSignIn(t *testing.T) {
	e := newEnv(t)
	const email = "out@example.com"
	e.signUpAndConfirm(newBrowser(t), email)
	p := newPKCE()
	for _, c := range []struct {
		name  string
		extra url.Values
		// then is what the sign-in page does with the carried request:
		// "form" shows it, or the error it sends back to the client.
		then string
	}{
		{"without PKCE", nil, "invalid_request"},
		{"with PKCE", url.Values{"code_challenge": {p.challenge}, "code_challenge_method": {"S256"}}, "form"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := e.signedIn(email)
			q := url.Values{"client_id": {"spa"}, "redirect_uri": {e.public.CallbackURLs[0]},
				"response_type": {"code"}, "scope": {"openid email"}, "state": {"st"}}
			for k, v := range c.extra {
				q[k] = v
			}
			resp := b.get(e.idp.URL + "/logout?" + q.Encode())
			loc, _ := url.Parse(resp.header.Get("Location"))
			if resp.status != http.StatusFound || loc.Path != "/login" {
				t.Fatalf("logout: %d to %q, want the sign-in page", resp.status, resp.header.Get("Location"))
			}
			for k, v := range q {
				if loc.Query().Get(k) != v[0] {
					t.Errorf("sign-in page URL lost %s=%s: %s", k, v[0], loc)
				}
			}
			// The session is over: authorize asks to sign in again.
			if a := b.get(e.authorizeURL(e.public, p, nil)); !strings.HasPrefix(a.header.Get("Location"), "/login?") {
				t.Fatalf("after logout, authorize went to %q", a.header.Get("Location"))
			}
			login := b.get(e.idp.URL + loc.String())
			switch c.then {
			case "form":
				if login.status != http.StatusOK {
					t.Fatalf("sign-in page: %d", login.status)
				}
				mustContain(t, login, `name="password"`)
			default:
				back, _ := url.Parse(login.header.Get("Location"))
				if login.status != http.StatusFound || back.Query().Get("error") != c.then || !strings.HasPrefix(back.String(), e.public.CallbackURLs[0]) {
					t.Fatalf("sign-in page: %d to %q, want error=%s at the callback", login.status, back, c.then)
				}
			}
		})
	}
	t.Run("unregistered redirect_uri", func(t *testing.T) {
		b := e.signedIn(email)
		q := url.Values{"client_id": {"spa"}, "redirect_uri": {"https://evil.example/cb"}, "response_type": {"code"}}
		if resp := b.get(e.idp.URL + "/logout?" + q.Encode()); resp.status != http.StatusBadRequest || resp.header.Get("Location") != "" {
			t.Fatalf("%d to %q, want 400 and no redirect", resp.status, resp.header.Get("Location"))
		}
	})
}
