package idp

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkTokenExchange measures POST /oauth2/token for an authorization
// code: client authentication, PKCE, minting and signing both tokens, and
// storing the refresh token.
func BenchmarkTokenExchange(b *testing.B) {
	s := newBareServer(b)
	u, _, err := s.users.Seed(b.Context(), "bench@example.com", "Bench-passw0rd")
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	i := 0
	for b.Loop() {
		i++
		code := "code-" + strconv.Itoa(i)
		seedGrant(s, code, "portal", u.Sub, fuzzPKCE)
		form := url.Values{
			"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {"http://localhost:8080/auth/callback"}, "code_verifier": {fuzzPKCE.verifier},
		}
		req := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("portal", "s3cret")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

func benchmarkGet(b *testing.B, path string) {
	s := newBareServer(b)
	h := s.Handler()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkDiscovery measures GET /<pool>/.well-known/openid-configuration.
func BenchmarkDiscovery(b *testing.B) {
	benchmarkGet(b, "/"+DefaultPoolID+"/.well-known/openid-configuration")
}

// BenchmarkJWKS measures GET /<pool>/.well-known/jwks.json.
func BenchmarkJWKS(b *testing.B) {
	benchmarkGet(b, "/"+DefaultPoolID+"/.well-known/jwks.json")
}
