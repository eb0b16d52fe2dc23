package idp

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestBasicClientCredentials: the secret in HTTP Basic is accepted
// form-encoded (RFC 6749 section 2.3.1, what x/oauth2 sends) and as it is
// (what curl -u sends). The test secret has '/', '+' and '&', which the two
// forms spell differently.
func TestBasicClientCredentials(t *testing.T) {
	e := newEnv(t)
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"unknown"}}
	for _, c := range []struct {
		name, user, pass string
		status           int
		code             string
	}{
		{"form-encoded", url.QueryEscape("portal"), url.QueryEscape(secret), 400, "invalid_grant"},
		{"raw, as curl -u sends", "portal", secret, 400, "invalid_grant"},
		{"raw secret that does not decode", "portal", secret + "%zz", 401, "invalid_client"},
		{"wrong secret", "portal", "s3cret/with odd&chars", 401, "invalid_client"},
		{"wrong secret, encoded", "portal", url.QueryEscape("wrong"), 401, "invalid_client"},
		{"empty secret", "portal", "", 401, "invalid_client"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.idp.URL+"/oauth2/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.user+":"+c.pass)))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			// invalid_grant means the client got past authentication.
			if resp.StatusCode != c.status || !strings.Contains(string(b), `"`+c.code+`"`) {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, b, c.status, c.code)
			}
		})
	}
}

// TestBearerSchemeCaseInsensitive: RFC 7235 makes the auth scheme
// case-insensitive.
func TestBearerSchemeCaseInsensitive(t *testing.T) {
	e := newEnv(t)
	const email = "bearer@example.com"
	e.signUpAndConfirm(newBrowser(t), email)
	p := newPKCE()
	_, tok := e.exchange(e.public, e.code(e.public, email, p), p)
	access := tok["access_token"].(string)
	for _, auth := range []string{"Bearer " + access, "bearer " + access, "BEARER " + access, "bEaReR  " + access} {
		req, _ := http.NewRequest(http.MethodGet, e.idp.URL+"/oauth2/userInfo", nil)
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%q: %d", auth[:8], resp.StatusCode)
		}
	}
}
