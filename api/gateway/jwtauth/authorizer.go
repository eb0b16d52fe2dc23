// Package jwtauth is the JWT authorizer of an API Gateway HTTP API, run
// locally: it accepts exactly the tokens API Gateway would accept for an
// issuer and a list of audiences, and renders their claims the way API
// Gateway hands them to a Lambda function.
//
// The rules, in the order they are checked:
//
//   - the token comes from the Authorization header, with or without a
//     "Bearer " prefix, and is a JWS in compact serialization;
//   - its alg is RS256 (none, HS256 and every other algorithm are refused);
//   - its kid names a key of the issuer's JWKS, found through the issuer's
//     discovery document and cached (trusted for at most
//     DefaultMaxKeyAge; an unknown kid refetches them at most once per
//     DefaultRefreshInterval; while none can be fetched, nothing verifies);
//   - the signature verifies with that key;
//   - iss equals the issuer;
//   - aud names one of the audiences or, only when the token has no aud,
//     client_id does (Cognito access tokens carry client_id, not aud);
//   - exp is in the future, nbf and iat (when present) are not, allowing
//     Leeway of clock skew;
//   - when the route names scopes, scope (or scp) holds at least one.
//
// Signature work is go-jose's; nothing here does cryptography by hand. A
// token whose signature has verified is remembered (by its exact text) for
// as long as its key stays in the issuer's key set, so a client reusing its
// token pays for RS256 once; every other rule is checked on every request.
// The entry records the very key that verified it: an issuer that replaces
// a key under the same kid revokes the tokens of the old one at the next
// fetch.
package jwtauth

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// DefaultLeeway is the clock skew allowed on exp, nbf and iat: a few
// seconds, so that a laptop clock slightly off real Cognito's still works,
// and no more, so that an expired token fails here as it fails in AWS.
const DefaultLeeway = 5 * time.Second

// maxTokenBytes bounds the work spent on one Authorization header. Cognito
// tokens are a few kilobytes; API Gateway's header limit is 10 KB.
const maxTokenBytes = 16 << 10

// Config configures an Authorizer.
type Config struct {
	// Issuer is the token issuer, exactly as it appears in iss, e.g.
	// https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEfGhI.
	Issuer string
	// Audience lists the accepted aud (or client_id) values: app client ids.
	Audience []string
	// JWKSURL, when set, skips discovery and fetches keys from there.
	JWKSURL string
	// HTTPClient fetches the discovery document and the JWKS; nil means a
	// client with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Leeway is the clock skew allowed; zero means DefaultLeeway.
	Leeway time.Duration
	// MaxKeyAge bounds how long fetched keys are trusted before they are
	// fetched again; zero or anything above DefaultMaxKeyAge means
	// DefaultMaxKeyAge.
	MaxKeyAge time.Duration
	// RefreshInterval is the least time between two fetches caused by an
	// unknown kid; zero or anything below DefaultRefreshInterval means
	// DefaultRefreshInterval.
	RefreshInterval time.Duration
	// RetryInterval is the least time between two fetches while no keys
	// are held at all (the issuer was not up yet, or is down); zero means
	// DefaultRetryInterval.
	RetryInterval time.Duration
	// Log receives key fetch failures and, for each token refused for want
	// of a key, which case it was (unknown kid or no keys); nil discards
	// them.
	Log *slog.Logger
}

// Authorizer checks bearer tokens. It is safe for concurrent use.
type Authorizer struct {
	issuer   string
	audience []string
	leeway   time.Duration
	now      func() time.Time
	keys     *keySet
	log      *slog.Logger
	verified verifiedCache
}

// New returns an Authorizer for cfg. It does not contact the issuer: keys
// are fetched on the first request that needs them, so the authorizer can
// start before the identity provider does.
func New(cfg Config) (*Authorizer, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("issuer %q is not an http(s) URL", cfg.Issuer)
	}
	if len(cfg.Audience) == 0 {
		return nil, errors.New("no audience configured")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = DefaultLeeway
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Authorizer{
		issuer:   cfg.Issuer,
		audience: slices.Clone(cfg.Audience),
		leeway:   cfg.Leeway,
		now:      cfg.Now,
		log:      cfg.Log,
		keys:     newKeySet(cfg),
		verified: verifiedCache{m: make(map[string]*verifiedToken)},
	}, nil
}

// Result is what the authorizer passes on to the integration.
type Result struct {
	// Claims are the token's claims rendered as API Gateway renders them:
	// every value a string (see RenderClaim). The map is shared between
	// requests carrying the same token: read it, never modify it.
	Claims map[string]string
	// Scopes are the token's scopes when the route requires scopes, and nil
	// otherwise, as in API Gateway's requestContext.authorizer.jwt.scopes.
	Scopes []string
}

// Error is a refused token. Description says why in API Gateway's words;
// it is safe to show the caller.
type Error struct {
	// Code is the RFC 6750 error code: invalid_token or insufficient_scope.
	Code        string
	Description string
	// Scope lists the scopes the route requires, space separated.
	Scope string
}

func (e *Error) Error() string { return "unauthorized: " + e.Description }

// Challenge is the www-authenticate header value API Gateway sends with a
// refusal from a JWT authorizer (401, or 403 for a missing scope).
func (e *Error) Challenge() string {
	return fmt.Sprintf("Bearer scope=%q error=%q error_description=%q", e.Scope, e.Code, e.Description)
}

// RFC 6750 error codes in Error.Code.
const (
	CodeInvalidToken      = "invalid_token"
	CodeInsufficientScope = "insufficient_scope"
)

func invalid(desc string) *Error { return &Error{Code: CodeInvalidToken, Description: desc} }

// Authorize checks the token in an Authorization header value against the
// rules of the package doc, requiring one of scopes when there are any. It
// returns an *Error for every refusal.
func (a *Authorizer) Authorize(ctx context.Context, authorization string, scopes []string) (*Result, error) {
	raw := bearerToken(authorization)
	if raw == "" {
		return nil, invalid("the token is missing")
	}
	if len(raw) > maxTokenBytes || strings.Count(raw, ".") != 2 {
		return nil, invalid("the token is malformed")
	}
	tok, err := a.verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	claims := tok.claims
	if err := a.check(claims); err != nil {
		return nil, err
	}
	res := &Result{Claims: tok.rendered}
	if len(scopes) > 0 {
		have := tokenScopes(claims)
		if !slices.ContainsFunc(scopes, func(s string) bool { return slices.Contains(have, s) }) {
			return nil, &Error{
				Code:        CodeInsufficientScope,
				Description: "the token does not have a required scope",
				Scope:       strings.Join(scopes, " "),
			}
		}
		res.Scopes = have
	}
	return res, nil
}

// verify checks the token's form, algorithm, key and signature, and
// decodes its claims. A token that verified before is taken from the cache
// as long as the key that verified it is still the key the issuer's current
// key set holds for its kid (the same kid with another key is another key):
// a signature does not change, and verifying RS256 is most of the
// authorizer's cost. Claim rules that depend on the time are checked on
// every request, by the caller.
func (a *Authorizer) verify(ctx context.Context, raw string) (*verifiedToken, error) {
	if tok := a.verified.get(raw); tok != nil && a.keys.holds(tok.kid, tok.key) {
		return tok, nil
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		// go-jose refuses unlisted algorithms while parsing, so alg none and
		// HS256 end here; say which case it was without echoing input.
		if alg := headerAlg(raw); alg != "" && alg != string(jose.RS256) {
			return nil, invalid("the token signing algorithm is not supported")
		}
		return nil, invalid("the token is malformed")
	}
	if len(jws.Signatures) != 1 {
		return nil, invalid("the token is malformed")
	}
	kid := jws.Signatures[0].Header.KeyID
	if kid == "" {
		return nil, invalid("the token has no kid")
	}
	key, err := a.keys.lookup(ctx, kid)
	if err != nil {
		// The caller hears API Gateway's one description; the log tells an
		// unknown kid from an issuer whose keys cannot be fetched.
		a.log.LogAttrs(ctx, slog.LevelInfo, "token refused: no signing key", slog.String("error", err.Error()))
		return nil, invalid("the token signing key could not be found")
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, invalid("the token signature is invalid")
	}
	claims, err := decodeClaims(payload)
	if err != nil {
		return nil, invalid("the token claims are malformed")
	}
	tok := &verifiedToken{kid: kid, key: key, claims: claims, rendered: make(map[string]string, len(claims))}
	for k, v := range claims {
		tok.rendered[k] = RenderClaim(v)
	}
	// Only tokens that pass the claim rules now are worth keeping; the
	// rules are checked again on every use.
	if a.check(claims) == nil {
		a.verified.put(raw, tok)
	}
	return tok, nil
}

// verifiedToken is a token whose signature has been verified.
type verifiedToken struct {
	kid string
	// key verified the signature; the cache entry is good only while the
	// key set holds this very key under kid.
	key      *rsa.PublicKey
	claims   map[string]any
	rendered map[string]string
}

// maxVerified bounds the cache of verified tokens. A local gateway sees few
// distinct tokens; past the bound an arbitrary entry makes room.
const maxVerified = 4096

// verifiedCache maps raw tokens to their verification.
type verifiedCache struct {
	mu sync.RWMutex
	m  map[string]*verifiedToken
}

func (c *verifiedCache) get(raw string) *verifiedToken {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[raw]
}

func (c *verifiedCache) put(raw string, tok *verifiedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxVerified {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[raw] = tok
}

// check applies the claim rules after the signature has verified.
func (a *Authorizer) check(claims map[string]any) *Error {
	if iss, _ := claims["iss"].(string); iss != a.issuer {
		return invalid("the token does not have a valid issuer")
	}
	if aud, ok := claims["aud"]; ok {
		if !slices.ContainsFunc(stringList(aud), a.accepts) {
			return invalid("the token does not have a valid audience")
		}
	} else if cid, _ := claims["client_id"].(string); !a.accepts(cid) {
		return invalid("the token does not have a valid audience")
	}
	now := a.now()
	exp, ok := numericDate(claims["exp"])
	if !ok {
		return invalid("the token has no valid expiry")
	}
	if !now.Before(exp.Add(a.leeway)) {
		return invalid("the token has expired")
	}
	if v, present := claims["nbf"]; present {
		nbf, ok := numericDate(v)
		if !ok || now.Add(a.leeway).Before(nbf) {
			return invalid("the token is not valid yet")
		}
	}
	if v, present := claims["iat"]; present {
		iat, ok := numericDate(v)
		if !ok || now.Add(a.leeway).Before(iat) {
			return invalid("the token was issued in the future")
		}
	}
	return nil
}

func (a *Authorizer) accepts(aud string) bool {
	return aud != "" && slices.Contains(a.audience, aud)
}

// bearerToken takes the token out of an Authorization value. API Gateway
// accepts the bare token and the Bearer form alike.
func bearerToken(h string) string {
	h = strings.TrimSpace(h)
	if strings.EqualFold(h, "bearer") {
		return ""
	}
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		h = strings.TrimSpace(h[7:])
	}
	return h
}

// headerAlg reads the alg of a compact JWS header without trusting it, only
// to choose an error description.
func headerAlg(raw string) string {
	head, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(head, "="))
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(b, &h) != nil {
		return ""
	}
	return h.Alg
}

// decodeClaims decodes a JWT payload keeping numbers as written.
func decodeClaims(payload []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil {
		return nil, err
	}
	if claims == nil || dec.More() {
		return nil, errors.New("claims are not one JSON object")
	}
	return claims, nil
}

// numericDate reads a JWT NumericDate (seconds since the epoch, possibly
// fractional).
func numericDate(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil || f < 0 || f > 1<<40 {
		return time.Time{}, false
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)), true
}

// stringList reads a claim that is a string or an array of strings.
func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// tokenScopes reads scope (space separated, as Cognito writes it) or scp
// (an array or a string, as some issuers write it).
func tokenScopes(claims map[string]any) []string {
	if s, ok := claims["scope"].(string); ok {
		return strings.Fields(s)
	}
	var out []string
	for _, s := range stringList(claims["scp"]) {
		out = append(out, strings.Fields(s)...)
	}
	return out
}

// RenderClaim renders one claim value as API Gateway passes it to a Lambda
// function: strings as they are, numbers as written in the token, booleans
// as true/false, arrays as "[a b]" (elements separated by a space), and
// objects as "{k=v k2=v2}" with keys sorted. null renders as "".
func RenderClaim(v any) string {
	var b strings.Builder
	renderClaim(&b, v)
	return b.String()
}

func renderClaim(b *strings.Builder, v any) {
	switch v := v.(type) {
	case string:
		b.WriteString(v)
	case json.Number:
		b.WriteString(v.String())
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(' ')
			}
			renderClaim(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(k)
			b.WriteByte('=')
			renderClaim(b, v[k])
		}
		b.WriteByte('}')
	}
}
