package idp

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/usersvc/usersvc/web/idp/users"
)

// newBareServer is a provider without listeners, for fuzzing and
// benchmarks that call its handler directly.
func newBareServer(tb testing.TB) *Server {
	tb.Helper()
	dir := tb.TempDir()
	seedKeys(tb, dir)
	s, err := New(Config{
		URL: "http://localhost:9229", DataDir: dir, PasswordCost: users.TestCost,
		Clients: []Client{
			{ClientId: "portal", ClientSecret: "s3cret", CallbackURLs: []string{"http://localhost:8080/auth/callback"}, AllowedOAuthScopes: []string{"openid", "email"}},
			{ClientId: "spa", CallbackURLs: []string{"http://localhost:8080/auth/callback"}, AllowedOAuthScopes: []string{"openid", "email"}},
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// seedGrant stores an authorization code as if a user had just signed in.
func seedGrant(s *Server, code, clientID, sub string, p pkce) {
	now := s.now()
	s.mu.Lock()
	s.grants[key(code)] = &grant{
		clientID: clientID, redirectURI: "http://localhost:8080/auth/callback", scope: "openid email",
		nonce: "n", challenge: p.challenge, sub: sub, authTime: now, eventID: newUUID(), expires: now.Add(CodeTTL),
	}
	s.mu.Unlock()
}

// fuzzVerifier is a fixed PKCE pair so the corpus can hold a verifier that
// matches the seeded code.
var fuzzPKCE = pkce{
	verifier:  "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
	challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
}

// FuzzTokenRequest throws arbitrary bodies, content types and
// Authorization headers at the token endpoint: it must never panic, and
// must always answer in RFC 6749's shape.
func FuzzTokenRequest(f *testing.F) {
	s := newBareServer(f)
	u, _, err := s.users.Seed(f.Context(), "fuzz@example.com", "Fuzz-passw0rd")
	if err != nil {
		f.Fatal(err)
	}
	h := s.Handler()
	form := "application/x-www-form-urlencoded"
	f.Add("grant_type=authorization_code&code=seed&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fauth%2Fcallback&code_verifier="+fuzzPKCE.verifier+"&client_id=spa", form, "")
	f.Add("grant_type=authorization_code&code=seed&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fauth%2Fcallback&code_verifier="+fuzzPKCE.verifier, form, "Basic cG9ydGFsOnMzY3JldA==")
	f.Add("grant_type=refresh_token&refresh_token=abc&client_id=portal&client_secret=s3cret", form+"; charset=utf-8", "")
	f.Add("grant_type=authorization_code&code=a&code=b", form, "Basic %%%")
	f.Add("%zz=1&grant_type", form, "Basic cG9ydGFsOg==")
	f.Add(`{"grant_type":"authorization_code"}`, "application/json", "")
	f.Add("", "", "Bearer x")
	allowed := []string{"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type"}
	f.Fuzz(func(t *testing.T, body, contentType, authorization string) {
		// Every input gets a live code to aim at, so the success path is
		// reachable too.
		seedGrant(s, "seed", "spa", u.Sub, fuzzPKCE)
		seedGrant(s, "seed-portal", "portal", u.Sub, fuzzPKCE)
		req := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("Cache-Control %q", rec.Header().Get("Cache-Control"))
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("status %d: body not a JSON object: %q", rec.Code, rec.Body)
		}
		switch rec.Code {
		case http.StatusOK:
			if m["access_token"] == nil || m["token_type"] != "Bearer" {
				t.Fatalf("200 without tokens: %v", m)
			}
		case http.StatusBadRequest, http.StatusUnauthorized:
			if code, _ := m["error"].(string); !slices.Contains(allowed, code) {
				t.Fatalf("status %d with error %v", rec.Code, m["error"])
			}
			if rec.Code == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		default:
			t.Fatalf("status %d: %v", rec.Code, m)
		}
	})
}

// FuzzAuthorize throws arbitrary queries at the authorization endpoint: it
// must never redirect anywhere but a registered callback or its own
// sign-in page.
func FuzzAuthorize(f *testing.F) {
	s := newBareServer(f)
	h := s.Handler()
	good := url.Values{
		"response_type": {"code"}, "client_id": {"spa"}, "redirect_uri": {"http://localhost:8080/auth/callback"},
		"scope": {"openid"}, "state": {"s"}, "code_challenge": {fuzzPKCE.challenge}, "code_challenge_method": {"S256"},
	}
	f.Add(good.Encode())
	f.Add("client_id=spa&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fauth%2Fcallback&response_type=token")
	f.Add("client_id=spa&redirect_uri=https%3A%2F%2Fevil.example%2F")
	f.Add("client_id=spa&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fauth%2Fcallback&redirect_uri=x&state=%00")
	f.Add("%gh&&;=")
	f.Fuzz(func(t *testing.T, rawQuery string) {
		req := httptest.NewRequest(http.MethodGet, "/oauth2/authorize", nil)
		req.URL.RawQuery = rawQuery
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusFound:
			loc := rec.Header().Get("Location")
			if !strings.HasPrefix(loc, "http://localhost:8080/auth/callback?") && !strings.HasPrefix(loc, "/login?") {
				t.Fatalf("redirected to %q", loc)
			}
		case http.StatusBadRequest:
		default:
			t.Fatalf("status %d", rec.Code)
		}
	})
}
