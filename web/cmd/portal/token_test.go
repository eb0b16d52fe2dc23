package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestTokenAgainstDev is the README's quick start for curl users: `portal
// token` with its defaults signs the admin in at `portal dev`'s provider
// (the public client portal-cli), and the dev API accepts both the access
// token and the ID token.
func TestTokenAgainstDev(t *testing.T) {
	const password = "Adm1n!token-pass"
	s := startDev(t, map[string]string{"PORTAL_DEV_ADMIN_PASSWORD": password})
	env := map[string]string{"PORTAL_PASSWORD": password}
	token := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		args = append([]string{"-idp-url", s.idp, "-username", "admin@example.com"}, args...)
		if err := runToken(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut); err != nil {
			t.Fatalf("portal token %v: %v\n%s", args, err, errOut.String())
		}
		return strings.TrimSpace(out.String())
	}
	access := token()
	if got := claim(t, access, "client_id"); got != cliClientID {
		t.Errorf("access token client_id %q, want %q", got, cliClientID)
	}
	// The client's one callback is on localhost (Cognito's rule for plain
	// http); the old loopback-IP one is no longer registered.
	var errOut bytes.Buffer
	old := []string{"-idp-url", s.idp, "-username", "admin@example.com", "-redirect-uri", "http://127.0.0.1/callback"}
	if err := runToken(context.Background(), old, func(k string) string { return env[k] }, io.Discard, &errOut); err == nil || !strings.Contains(err.Error(), "redirect_uri") {
		t.Errorf("portal token -redirect-uri http://127.0.0.1/callback: err = %v, want a redirect_uri mismatch", err)
	}

	call := func(method, path, body, tok string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, s.api+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := call("POST", "/user", `{"User": {"UserId": "cli-01", "Name": "Ana"}}`, access); code != http.StatusCreated {
		t.Fatalf("POST /user: %d %s", code, body)
	}
	if code, body := call("GET", "/user?UserId=cli-01", "", access); code != http.StatusOK || !strings.Contains(body, `"Ana"`) {
		t.Fatalf("GET /user: %d %s", code, body)
	}
	if code, body := call("GET", "/user?UserId=cli-01", "", token("-id")); code != http.StatusOK {
		t.Errorf("GET /user with the ID token: %d %s", code, body)
	}
	if code, _ := call("GET", "/user?UserId=cli-01", "", access+"x"); code != http.StatusUnauthorized {
		t.Errorf("GET /user with a broken token: %d, want 401", code)
	}
}

// TestTokenAgainstIDP: `portal idp` without -clients has only the portal's
// client, so `portal token` with its defaults falls back to it, and says
// so; an explicit -client-id is never second-guessed.
func TestTokenAgainstIDP(t *testing.T) {
	const password = "Adm1n!token-pass"
	env := map[string]string{"PORTAL_DEV_ADMIN_PASSWORD": password, "PORTAL_PASSWORD": password}
	getenv := func(k string) string { return env[k] }
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := runIDP(ctx, []string{"-addr", "127.0.0.1:0", "-data", t.TempDir()}, getenv, outW, io.Discard)
		outW.CloseWithError(fmt.Errorf("runIDP returned: %v", err))
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("runIDP did not stop")
		}
	})
	var idpURL string
	sc := bufio.NewScanner(outR)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "idp" {
			idpURL = f[1]
			break
		}
	}
	go io.Copy(io.Discard, outR)
	if idpURL == "" {
		t.Fatalf("portal idp printed no URL: %v", sc.Err())
	}

	var out, errOut bytes.Buffer
	if err := runToken(ctx, []string{"-idp-url", idpURL, "-username", "admin@example.com"}, getenv, &out, &errOut); err != nil {
		t.Fatalf("portal token: %v\n%s", err, errOut.String())
	}
	if got := claim(t, strings.TrimSpace(out.String()), "client_id"); got != devClientID {
		t.Errorf("client_id %q, want the fallback %q", got, devClientID)
	}
	if !strings.Contains(errOut.String(), `using "portal"`) {
		t.Errorf("the fallback is not reported: %q", errOut.String())
	}

	errOut.Reset()
	err := runToken(ctx, []string{"-idp-url", idpURL, "-username", "admin@example.com", "-client-id", cliClientID}, getenv, io.Discard, &errOut)
	if err == nil || !unknownClient(err) {
		t.Errorf("explicit unknown -client-id: %v, want the provider's refusal", err)
	}
}

// claim returns a string claim of a JWT's payload, unverified: the tests
// only look at which client a token was issued to.
func claim(t *testing.T, jwt, name string) string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	s, _ := claims[name].(string)
	return s
}
