// Package testissuer is a small OpenID issuer for tests: an httptest server
// serving a Cognito-shaped discovery document and JWKS, and RS256 tokens
// with Cognito's ID and access token claims, signed with go-jose. Tests can
// rotate its keys, take the JWKS down, and count fetches.
package testissuer

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// PoolID is the user pool id in the issuer URL.
const PoolID = "us-east-1_TestPool"

// Issuer is a running test issuer.
type Issuer struct {
	// URL is the issuer: the server's URL followed by /PoolID.
	URL string

	srv *httptest.Server

	mu      sync.Mutex
	keys    []Key // published keys; the last one signs
	jwksOff bool

	discoveryHits atomic.Int64
	jwksHits      atomic.Int64
}

// Key is a signing key and its kid.
type Key struct {
	ID  string
	Key *rsa.PrivateKey
}

// New starts an issuer on loopback with one key; it stops with the test.
func New(t testing.TB) *Issuer {
	t.Helper()
	iss := &Issuer{}
	iss.keys = []Key{{ID: "key-1", Key: firstKey()}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /"+PoolID+"/.well-known/openid-configuration", iss.discovery)
	mux.HandleFunc("GET /"+PoolID+"/.well-known/jwks.json", iss.jwks)
	iss.srv = httptest.NewServer(mux)
	t.Cleanup(iss.srv.Close)
	iss.URL = iss.srv.URL + "/" + PoolID
	return iss
}

// firstKey is every issuer's first signing key: generating a 2048-bit key
// takes long enough to matter in a test binary that starts dozens of
// issuers, and each issuer's server is its own anyway.
var firstKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return k
})

// NewKey generates an RSA key. 2048 bits is what Cognito uses.
func NewKey(t testing.TB, kid string) Key {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return Key{ID: kid, Key: k}
}

// Client is an HTTP client for the issuer's server.
func (iss *Issuer) Client() *http.Client { return iss.srv.Client() }

func (iss *Issuer) discovery(w http.ResponseWriter, r *http.Request) {
	iss.discoveryHits.Add(1)
	writeJSON(w, map[string]any{
		"issuer":                                iss.URL,
		"jwks_uri":                              iss.URL + "/.well-known/jwks.json",
		"authorization_endpoint":                iss.srv.URL + "/oauth2/authorize",
		"token_endpoint":                        iss.srv.URL + "/oauth2/token",
		"response_types_supported":              []string{"code", "token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
	})
}

func (iss *Issuer) jwks(w http.ResponseWriter, r *http.Request) {
	iss.jwksHits.Add(1)
	iss.mu.Lock()
	off := iss.jwksOff
	var set jose.JSONWebKeySet
	for _, k := range iss.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.Key.PublicKey, KeyID: k.ID, Algorithm: "RS256", Use: "sig"})
	}
	iss.mu.Unlock()
	if off {
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, set)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// Rotate publishes a new signing key with id kid. With retire set, the
// previous keys are no longer published.
func (iss *Issuer) Rotate(t testing.TB, kid string, retire bool) {
	k := NewKey(t, kid)
	iss.mu.Lock()
	defer iss.mu.Unlock()
	if retire {
		iss.keys = nil
	}
	iss.keys = append(iss.keys, k)
}

// SetJWKSDown makes the JWKS endpoint answer 503 (down) or serve again.
func (iss *Issuer) SetJWKSDown(down bool) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.jwksOff = down
}

// JWKSFetches counts requests to the JWKS endpoint.
func (iss *Issuer) JWKSFetches() int { return int(iss.jwksHits.Load()) }

// DiscoveryFetches counts requests for the discovery document.
func (iss *Issuer) DiscoveryFetches() int { return int(iss.discoveryHits.Load()) }

// SigningKey is the key that signs by default.
func (iss *Issuer) SigningKey() Key {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	return iss.keys[len(iss.keys)-1]
}

// Sign signs claims with the current signing key.
func (iss *Issuer) Sign(t testing.TB, claims map[string]any) string {
	return SignWith(t, iss.SigningKey(), claims)
}

// SignWith signs claims with k, RS256, putting k.ID in the kid header.
func SignWith(t testing.TB, k Key, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k.Key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), k.ID))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// User is who a token is for.
type User struct {
	Sub      string
	Username string
	Email    string
	Groups   []string
}

// IDToken returns the claims of a Cognito ID token for u issued to
// client at now, valid for an hour.
func (iss *Issuer) IDToken(u User, client string, now time.Time) map[string]any {
	c := map[string]any{
		"sub":              u.Sub,
		"email_verified":   true,
		"iss":              iss.URL,
		"cognito:username": u.Username,
		"origin_jti":       "5f0c4d8e-1111-4222-8333-944455556666",
		"aud":              client,
		"event_id":         "0d3c2b1a-7777-4888-9999-aaaabbbbcccc",
		"token_use":        "id",
		"auth_time":        now.Unix(),
		"exp":              now.Add(time.Hour).Unix(),
		"iat":              now.Unix(),
		"jti":              "9e8d7c6b-dddd-4eee-8fff-000011112222",
		"email":            u.Email,
	}
	if len(u.Groups) > 0 {
		c["cognito:groups"] = u.Groups
	}
	return c
}

// AccessToken returns the claims of a Cognito access token for u issued
// to client at now with scope, valid for an hour. It has client_id and no
// aud, as Cognito's do.
func (iss *Issuer) AccessToken(u User, client, scope string, now time.Time) map[string]any {
	c := map[string]any{
		"sub":        u.Sub,
		"iss":        iss.URL,
		"client_id":  client,
		"origin_jti": "5f0c4d8e-1111-4222-8333-944455556666",
		"event_id":   "0d3c2b1a-7777-4888-9999-aaaabbbbcccc",
		"token_use":  "access",
		"scope":      scope,
		"auth_time":  now.Unix(),
		"exp":        now.Add(time.Hour).Unix(),
		"iat":        now.Unix(),
		"jti":        "1a2b3c4d-eeee-4fff-8000-111122223333",
		"username":   u.Username,
	}
	if len(u.Groups) > 0 {
		c["cognito:groups"] = u.Groups
	}
	return c
}

// Clock is a settable clock for tests, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time; it moves only with Add.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// String describes the issuer in test failures.
func (iss *Issuer) String() string { return fmt.Sprintf("test issuer %s", iss.URL) }

var (
	cachedOnce sync.Once
	cachedKey  Key
)

// NewKeyCached returns one foreign key per test binary, with kid "key-1"
// (the issuer's first kid), for tests that need many forged tokens without
// generating a key each time.
func NewKeyCached(t testing.TB) Key {
	cachedOnce.Do(func() { cachedKey = NewKey(t, "key-1") })
	return cachedKey
}
