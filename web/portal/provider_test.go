package portal_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// testProvider is a minimal OIDC provider in Cognito's shape, for the
// portal's handler tests: it signs in whoever it is told to at once,
// without a page. The real local provider (web/idp) is exercised by the
// end-to-end test.
type testProvider struct {
	t      testing.TB
	srv    *httptest.Server
	signer jose.Signer
	jwks   jose.JSONWebKeySet

	mu        sync.Mutex
	user      testUser
	clientID  string
	secret    string
	expiresIn int // seconds
	codes     map[string]grant
	refresh   map[string]testUser // live refresh tokens
	revoked   []string
	// revokes receives each revoked token, for a test to wait on a
	// revocation that happens in the background (the sweep).
	revokes       chan string
	logouts       []url.Values
	authorize     []url.Values // every authorize or signup request
	signups       int
	nonceOverride string
	refreshes     int
	// refreshID, when set, changes the claims of the ID token a refresh
	// returns: a provider that misbehaves or a token that was swapped.
	refreshID func(claims map[string]any)
	now       func() time.Time
}

type testUser struct {
	sub, email, username string
	groups               []string
}

type grant struct {
	challenge, nonce, redirect string
	user                       testUser
}

var (
	keyOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

func newTestProvider(t testing.TB, clientID, secret string, now func() time.Time) *testProvider {
	keyOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: rsaKey, KeyID: "k1"}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	p := &testProvider{
		t: t, now: now, signer: signer, clientID: clientID, secret: secret, expiresIn: 3600,
		jwks:    jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &rsaKey.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}},
		codes:   map[string]grant{},
		refresh: map[string]testUser{},
		revokes: make(chan string, 64),
		user:    testUser{sub: "sub-ada", email: "ada@example.com", username: "sub-ada"},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /pool/.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /pool/.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) { json.NewEncoder(w).Encode(p.jwks) })
	mux.HandleFunc("GET /oauth2/authorize", p.handleAuthorize)
	mux.HandleFunc("GET /signup", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.signups++
		p.mu.Unlock()
		p.handleAuthorize(w, r)
	})
	mux.HandleFunc("POST /oauth2/token", p.token)
	mux.HandleFunc("POST /oauth2/revoke", p.revoke)
	mux.HandleFunc("GET /logout", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.logouts = append(p.logouts, r.URL.Query())
		p.mu.Unlock()
		http.Redirect(w, r, r.URL.Query().Get("logout_uri"), http.StatusFound)
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *testProvider) issuer() string { return p.srv.URL + "/pool" }

func (p *testProvider) setUser(u testUser) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user = u
}

func (p *testProvider) discovery(w http.ResponseWriter, r *http.Request) {
	json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                p.issuer(),
		"authorization_endpoint":                p.srv.URL + "/oauth2/authorize",
		"token_endpoint":                        p.srv.URL + "/oauth2/token",
		"userinfo_endpoint":                     p.srv.URL + "/oauth2/userInfo",
		"revocation_endpoint":                   p.srv.URL + "/oauth2/revoke",
		"jwks_uri":                              p.issuer() + "/.well-known/jwks.json",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
	})
}

func (p *testProvider) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.authorize = append(p.authorize, q)
	if q.Get("client_id") != p.clientID || q.Get("code_challenge_method") != "S256" || q.Get("response_type") != "code" {
		http.Error(w, "bad authorize request", http.StatusBadRequest)
		return
	}
	code := rand.Text()
	p.codes[code] = grant{challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), redirect: q.Get("redirect_uri"), user: p.user}
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
}

func (p *testProvider) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || id != p.clientID || secret != p.secret {
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client"})
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	bad := func() {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant"})
	}
	var user testUser
	var nonce, refresh string
	switch r.PostFormValue("grant_type") {
	case "authorization_code":
		g, ok := p.codes[r.PostFormValue("code")]
		delete(p.codes, r.PostFormValue("code"))
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge || r.PostFormValue("redirect_uri") != g.redirect {
			bad()
			return
		}
		user, nonce = g.user, g.nonce
		if p.nonceOverride != "" {
			nonce = p.nonceOverride
		}
		refresh = rand.Text()
		p.refresh[refresh] = user
	case "refresh_token":
		u, ok := p.refresh[r.PostFormValue("refresh_token")]
		if !ok {
			bad()
			return
		}
		p.refreshes++
		user = u
	default:
		bad()
		return
	}
	now := p.now()
	common := map[string]any{
		"sub": user.sub, "iss": p.issuer(), "iat": now.Unix(), "exp": now.Add(time.Duration(p.expiresIn) * time.Second).Unix(),
		"auth_time": now.Unix(), "cognito:username": user.username,
	}
	if len(user.groups) > 0 {
		common["cognito:groups"] = user.groups
	}
	idc := map[string]any{"aud": p.clientID, "token_use": "id", "email": user.email, "email_verified": true}
	if nonce != "" {
		idc["nonce"] = nonce
	}
	acc := map[string]any{"client_id": p.clientID, "token_use": "access", "scope": "openid email", "username": user.username}
	for k, v := range common {
		idc[k], acc[k] = v, v
	}
	if r.PostFormValue("grant_type") == "refresh_token" && p.refreshID != nil {
		p.refreshID(idc)
	}
	idt, err := jwt.Signed(p.signer).Claims(idc).Serialize()
	if err != nil {
		p.t.Error(err)
	}
	at, err := jwt.Signed(p.signer).Claims(acc).Serialize()
	if err != nil {
		p.t.Error(err)
	}
	body := map[string]any{"access_token": at, "id_token": idt, "token_type": "Bearer", "expires_in": p.expiresIn}
	if refresh != "" {
		body["refresh_token"] = refresh
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(body)
}

func (p *testProvider) revoke(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	tok := r.PostFormValue("token")
	delete(p.refresh, tok)
	p.revoked = append(p.revoked, tok)
	select {
	case p.revokes <- tok:
	default: // no test is waiting, and the buffer is full: the list has it
	}
}
