package idp

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/usersvc/usersvc/web/idp/keys"
	"github.com/usersvc/usersvc/web/idp/users"
)

// clock is a settable time source shared by the provider and its stores.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const (
	testPassword = "Corr3ct-horse"
	adminEmail   = "admin@example.com"
	adminPass    = "Adm1n-password"
	secret       = "s3cret/with+odd&chars"
)

// env is a provider on httptest and a relying party registered with it.
type env struct {
	t      *testing.T
	srv    *Server
	idp    *httptest.Server
	rp     *relyingParty
	clock  *clock
	sleeps *sleepRecorder
	public Client // id "spa": no secret
	conf   Client // id "portal": secret
}

// newEnv starts a provider whose clients call back to one relying party.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, clock: &clock{t: time.Now().Truncate(time.Second)}}
	rpSrv := httptest.NewUnstartedServer(nil)
	// localhost, not the listener's 127.0.0.1: Cognito (and so the
	// provider) registers plain http callbacks only on localhost.
	rpURL := fmt.Sprintf("http://localhost:%d", rpSrv.Listener.Addr().(*net.TCPAddr).Port)
	e.conf = Client{
		ClientId: "portal", ClientSecret: secret,
		CallbackURLs: []string{rpURL + "/auth/callback"}, LogoutURLs: []string{rpURL + "/"},
		AllowedOAuthFlows: []string{"code"}, AllowedOAuthScopes: []string{"openid", "email", "profile"},
		IdTokenValidity: 30, AccessTokenValidity: 15, RefreshTokenValidity: 7,
		TokenValidityUnits: TokenValidityUnits{IdToken: "minutes", AccessToken: "minutes", RefreshToken: "days"},
	}
	e.public = Client{
		ClientId: "spa", CallbackURLs: []string{rpURL + "/auth/callback"}, LogoutURLs: []string{rpURL + "/"},
		AllowedOAuthScopes: []string{"openid", "email"},
	}
	idpSrv := httptest.NewUnstartedServer(nil)
	idpURL := "http://" + idpSrv.Listener.Addr().String()
	dataDir := t.TempDir()
	seedKeys(t, dataDir)
	srv, err := New(Config{
		URL: idpURL, DataDir: dataDir, Clients: []Client{e.conf, e.public},
		AdminEmail: adminEmail, AdminPassword: adminPass, Outbox: true,
		Now: e.clock.Now, PasswordCost: users.TestCost,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	// Forms are paced on a frozen wall clock with a sleeper that only
	// records: tests stay fast, and see the pacing in e.sleeps.
	e.sleeps = &sleepRecorder{}
	wall := time.Now()
	srv.pace.now = func() time.Time { return wall }
	srv.pace.sleep = e.sleeps.sleep
	// Every request here comes from 127.0.0.1: per-client limits would
	// end the suite; abuse_test.go tests them with their defaults.
	liftClientLimits(srv)
	idpSrv.Config.Handler = srv.Handler()
	idpSrv.Start()
	t.Cleanup(idpSrv.Close)
	e.srv, e.idp = srv, idpSrv

	e.rp = newRelyingParty(t, srv.Issuer(), e.conf, rpURL)
	rpSrv.Config.Handler = e.rp
	rpSrv.Start()
	t.Cleanup(rpSrv.Close)
	return e
}

// sleepRecorder is a pacer's sleeper that records instead of sleeping.
type sleepRecorder struct {
	mu sync.Mutex
	d  []time.Duration
}

func (r *sleepRecorder) sleep(_ context.Context, d time.Duration) {
	r.mu.Lock()
	r.d = append(r.d, d)
	r.mu.Unlock()
}

// take returns the sleeps recorded since the last call.
func (r *sleepRecorder) take() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.d
	r.d = nil
	return d
}

var testKeys struct {
	once sync.Once
	file []byte
	err  error
}

// seedKeys puts one key file, generated once per test binary, into dataDir:
// RSA key generation would otherwise dominate the tests' time.
func seedKeys(t testing.TB, dataDir string) {
	t.Helper()
	testKeys.once.Do(func() {
		path := filepath.Join(os.TempDir(), fmt.Sprintf("idp-test-keys-%d.json", os.Getpid()))
		defer os.Remove(path)
		if _, testKeys.err = keys.Open(path, nil); testKeys.err == nil {
			testKeys.file, testKeys.err = os.ReadFile(path)
		}
	})
	if testKeys.err != nil {
		t.Fatal(testKeys.err)
	}
	if err := os.MkdirAll(filepath.Join(dataDir, "idp"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, "idp", "keys.json"), testKeys.file, 0o600); err != nil {
		t.Fatal(err)
	}
}

// relyingParty is an OIDC client as an application writes one: go-oidc for
// discovery and ID token verification, x/oauth2 for the code flow with PKCE.
type relyingParty struct {
	t        *testing.T
	url      string
	provider *oidc.Provider
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier

	mu                         sync.Mutex
	codeVerifier, state, nonce string
	result                     *rpResult
}

// rpResult is what the relying party learnt from one sign-in.
type rpResult struct {
	token    *oauth2.Token
	idToken  *oidc.IDToken
	rawID    string
	claims   map[string]any
	userInfo *oidc.UserInfo
}

func newRelyingParty(t *testing.T, issuer string, c Client, url string) *relyingParty {
	t.Helper()
	p, err := oidc.NewProvider(context.Background(), issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &relyingParty{
		t: t, url: url, provider: p,
		oauth: oauth2.Config{
			ClientID: c.ClientId, ClientSecret: c.ClientSecret, Endpoint: p.Endpoint(),
			RedirectURL: c.CallbackURLs[0], Scopes: []string{oidc.ScopeOpenID, "email"},
		},
		verifier: p.Verifier(&oidc.Config{ClientID: c.ClientId}),
	}
}

func (rp *relyingParty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	switch r.URL.Path {
	case "/start":
		rp.mu.Lock()
		rp.codeVerifier, rp.state, rp.nonce = oauth2.GenerateVerifier(), randomString(), randomString()
		u := rp.oauth.AuthCodeURL(rp.state, oauth2.S256ChallengeOption(rp.codeVerifier), oidc.Nonce(rp.nonce))
		rp.mu.Unlock()
		http.Redirect(w, r, u, http.StatusFound)
	case "/auth/callback":
		rp.mu.Lock()
		defer rp.mu.Unlock()
		if r.URL.Query().Get("state") != rp.state {
			http.Error(w, "state mismatch", http.StatusBadRequest)
			return
		}
		if e := r.URL.Query().Get("error"); e != "" {
			http.Error(w, "provider error: "+e, http.StatusBadRequest)
			return
		}
		tok, err := rp.oauth.Exchange(ctx, r.URL.Query().Get("code"), oauth2.VerifierOption(rp.codeVerifier))
		if err != nil {
			http.Error(w, "exchange: "+err.Error(), http.StatusBadGateway)
			return
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := rp.verifier.Verify(ctx, raw)
		if err != nil {
			http.Error(w, "verify: "+err.Error(), http.StatusBadGateway)
			return
		}
		if idt.Nonce != rp.nonce {
			http.Error(w, "nonce mismatch", http.StatusBadGateway)
			return
		}
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			http.Error(w, "at_hash: "+err.Error(), http.StatusBadGateway)
			return
		}
		var claims map[string]any
		if err := idt.Claims(&claims); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		ui, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			http.Error(w, "userinfo: "+err.Error(), http.StatusBadGateway)
			return
		}
		rp.result = &rpResult{token: tok, idToken: idt, rawID: raw, claims: claims, userInfo: ui}
		fmt.Fprintln(w, "signed in as", idt.Subject)
	case "/":
		fmt.Fprintln(w, "home")
	default:
		http.NotFound(w, r)
	}
}

func (rp *relyingParty) last() *rpResult {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.result
}

func randomString() string { return newSecret() }

// browser is a cookie-keeping HTTP client that records every response.
type browser struct {
	t      *testing.T
	c      *http.Client
	follow bool
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, follow: true}
	b.c = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		if !b.follow {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

// page is a fetched response with its body read.
type page struct {
	status int
	url    *url.URL
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, url: resp.Request.URL, header: resp.Header, body: string(body)}
}

func (b *browser) get(u string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return b.do(req)
}

// open is get, following redirects whatever b.follow says.
func (b *browser) open(u string) page {
	b.t.Helper()
	f := b.follow
	b.follow = true
	defer func() { b.follow = f }()
	return b.get(u)
}

// submit posts the first form on p with fields (plus its CSRF token).
func (b *browser) submit(p page, fields url.Values) page {
	b.t.Helper()
	action, csrf := formOf(b.t, p)
	if fields.Get("_csrf") == "" && !fields.Has("_csrf") {
		fields.Set("_csrf", csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, p.url.ResolveReference(action).String(), strings.NewReader(fields.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var (
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	csrfRE   = regexp.MustCompile(`name="_csrf" value="([^"]*)"`)
)

func formOf(t *testing.T, p page) (*url.URL, string) {
	t.Helper()
	a, c := actionRE.FindStringSubmatch(p.body), csrfRE.FindStringSubmatch(p.body)
	if a == nil || c == nil {
		t.Fatalf("no form on %s (status %d):\n%s", p.url, p.status, p.body)
	}
	u, err := url.Parse(html.UnescapeString(a[1]))
	if err != nil {
		t.Fatal(err)
	}
	return u, html.UnescapeString(c[1])
}

func mustContain(t *testing.T, p page, want string) {
	t.Helper()
	if !strings.Contains(p.body, want) {
		t.Fatalf("page %s (status %d) lacks %q:\n%s", p.url, p.status, want, p.body)
	}
}

// signUpAndConfirm creates a confirmed account through the Hosted UI.
func (e *env) signUpAndConfirm(b *browser, email string) {
	e.t.Helper()
	login := b.get(e.rp.url + "/start")
	signup := b.get(login.url.ResolveReference(mustURL(e.t, regexp.MustCompile(`href="(/signup[^"]*)"`), login.body)).String())
	done := b.submit(signup, url.Values{"username": {email}, "password": {testPassword}})
	if done.status != http.StatusOK {
		e.t.Fatalf("sign-up: status %d:\n%s", done.status, done.body)
	}
	link, err := e.srv.Outbox().VerificationLink(email, "/confirmUser")
	if err != nil {
		e.t.Fatal(err)
	}
	if p := b.get(link); p.status != http.StatusOK {
		e.t.Fatalf("confirm: status %d:\n%s", p.status, p.body)
	}
}

func mustURL(t *testing.T, re *regexp.Regexp, body string) *url.URL {
	t.Helper()
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no match for %s in:\n%s", re, body)
	}
	u, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// pkce is a verifier and its S256 challenge.
type pkce struct{ verifier, challenge string }

func newPKCE() pkce {
	v := oauth2.GenerateVerifier()
	h := sha256.Sum256([]byte(v))
	return pkce{v, b64.EncodeToString(h[:])}
}

// authorizeURL is an authorization request for client c.
func (e *env) authorizeURL(c Client, p pkce, extra url.Values) string {
	q := url.Values{
		"response_type": {"code"}, "client_id": {c.ClientId}, "redirect_uri": {c.CallbackURLs[0]},
		"scope": {"openid email"}, "state": {"st"}, "nonce": {"n"},
		"code_challenge": {p.challenge}, "code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		q[k] = v
	}
	return e.idp.URL + "/oauth2/authorize?" + q.Encode()
}

// code signs email in for client c with a fresh browser and returns the
// authorization code the provider sent back, without exchanging it.
func (e *env) code(c Client, email string, p pkce) string {
	e.t.Helper()
	b := newBrowser(e.t)
	login := b.get(e.authorizeURL(c, p, nil))
	b.follow = false
	resp := b.submit(login, url.Values{"username": {email}, "password": {testPassword}})
	if resp.status != http.StatusFound {
		e.t.Fatalf("sign-in: status %d:\n%s", resp.status, resp.body)
	}
	loc, err := url.Parse(resp.header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		e.t.Fatalf("sign-in redirected to %q", resp.header.Get("Location"))
	}
	return loc.Query().Get("code")
}

// tokenCall posts form to the token endpoint (or another path) and decodes
// the JSON answer.
func (e *env) post(path string, form url.Values, basic *[2]string) (int, http.Header, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.idp.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic != nil {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if b, _ := io.ReadAll(resp.Body); len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			e.t.Fatalf("%s answered non-JSON %q", path, b)
		}
	}
	return resp.StatusCode, resp.Header, m
}

// exchange redeems code as client c would.
func (e *env) exchange(c Client, code string, p pkce) (int, map[string]any) {
	e.t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.CallbackURLs[0]}, "code_verifier": {p.verifier}}
	var basic *[2]string
	if c.ClientSecret != "" {
		basic = &[2]string{c.ClientId, c.ClientSecret}
	} else {
		form.Set("client_id", c.ClientId)
	}
	status, _, m := e.post("/oauth2/token", form, basic)
	return status, m
}

// claimsOf decodes a JWT's payload without verifying it (the tests verify
// signatures with go-oidc separately).
func claimsOf(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", jwt)
	}
	b, err := b64.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func oauthErrorCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}
