package jwtauth

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Refresh rules of the key cache.
const (
	// DefaultMaxKeyAge is the longest keys are trusted without a fetch.
	DefaultMaxKeyAge = 2 * time.Hour
	// DefaultRefreshInterval is the least time between fetches caused by
	// tokens with an unknown kid, so that a stream of forged kids cannot
	// turn the gateway against the issuer.
	DefaultRefreshInterval = time.Minute
	// DefaultRetryInterval is the least time between fetches while no keys
	// are held, so that a gateway started before its issuer recovers soon
	// after the issuer comes up.
	DefaultRetryInterval = 5 * time.Second

	fetchTimeout  = 10 * time.Second
	maxFetchBytes = 1 << 20
)

// Errors of lookup, wrapped with the kid.
var (
	// errUnknownKey: the key set, fresh or just refetched, has no usable
	// key with that kid.
	errUnknownKey = errors.New("no signing key with that kid")
	// errNoKeys: no key set could be fetched recently enough to trust.
	errNoKeys = errors.New("issuer keys unavailable")
)

// keySet is an issuer's signing keys, fetched lazily and cached under the
// rules API Gateway applies: keys are trusted for at most MaxKeyAge, an
// unknown kid triggers at most one fetch per RefreshInterval, and when keys
// cannot be fetched nothing verifies. Concurrent callers share one fetch.
type keySet struct {
	issuer  string
	jwksURL string
	client  *http.Client
	now     func() time.Time
	log     *slog.Logger

	maxAge, refresh, retry time.Duration

	mu        sync.Mutex
	keys      map[string]*rsa.PublicKey // nil when too old to trust
	lastKeys  map[string]*rsa.PublicKey // the last set fetched, even if too old
	fetchedAt time.Time                 // last successful fetch
	triedAt   time.Time                 // last fetch attempt, successful or not
	inflight  chan struct{}             // closed when the running fetch ends
}

func newKeySet(cfg Config) *keySet {
	ks := &keySet{
		issuer:  strings.TrimSuffix(cfg.Issuer, "/"),
		jwksURL: cfg.JWKSURL,
		client:  cfg.HTTPClient,
		now:     cfg.Now,
		log:     cfg.Log,
		maxAge:  cfg.MaxKeyAge,
		refresh: cfg.RefreshInterval,
		retry:   cfg.RetryInterval,
	}
	if ks.client == nil {
		ks.client = &http.Client{Timeout: fetchTimeout}
	}
	if ks.now == nil {
		ks.now = time.Now
	}
	if ks.log == nil {
		ks.log = slog.New(slog.DiscardHandler)
	}
	if ks.maxAge <= 0 || ks.maxAge > DefaultMaxKeyAge {
		ks.maxAge = DefaultMaxKeyAge
	}
	if ks.refresh < DefaultRefreshInterval {
		ks.refresh = DefaultRefreshInterval
	}
	if ks.retry <= 0 {
		ks.retry = DefaultRetryInterval
	}
	return ks
}

// lookup returns the RSA signing key whose kid is kid, fetching the key
// set when the rules allow it.
func (ks *keySet) lookup(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	fetched := false
	for {
		ks.mu.Lock()
		now := ks.now()
		fresh := ks.keys != nil && now.Sub(ks.fetchedAt) < ks.maxAge
		if !fresh {
			ks.keys = nil // too old to trust, even if the refetch fails
		}
		if key, ok := ks.keys[kid]; ok {
			ks.mu.Unlock()
			return key, nil
		}
		if wait := ks.inflight; wait != nil {
			ks.mu.Unlock()
			select {
			case <-wait:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			fetched = true // someone else's fetch counts as ours
			continue
		}
		interval := ks.refresh
		if !fresh {
			interval = ks.retry
		}
		if fetched || (!ks.triedAt.IsZero() && now.Sub(ks.triedAt) < interval) {
			ks.mu.Unlock()
			if !fresh {
				return nil, fmt.Errorf("key %s: %w", clip(kid), errNoKeys)
			}
			return nil, fmt.Errorf("key %s: %w", clip(kid), errUnknownKey)
		}
		done := make(chan struct{})
		ks.inflight, ks.triedAt = done, now
		ks.mu.Unlock()

		// The fetch serves every waiting request, so one caller giving up
		// must not cancel it.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		keys, err := ks.fetch(fctx)
		cancel()

		ks.mu.Lock()
		if err != nil {
			ks.log.LogAttrs(ctx, slog.LevelWarn, "fetch issuer keys", slog.String("issuer", ks.issuer), slog.String("error", err.Error()))
		} else {
			// A key that did not change keeps its identity, so that tokens
			// it verified stay cached (holds compares pointers).
			for kid, k := range keys {
				if prev := ks.lastKeys[kid]; prev != nil && prev.Equal(k) {
					keys[kid] = prev
				}
			}
			ks.keys, ks.lastKeys, ks.fetchedAt = keys, keys, ks.now()
		}
		ks.inflight = nil
		close(done)
		ks.mu.Unlock()
		fetched = true
	}
}

// holds reports whether the current key set, still fresh enough to trust,
// holds key itself under kid. A kid alone is not enough: an issuer may
// publish another key under a kid it used before. It never fetches.
func (ks *keySet) holds(kid string, key *rsa.PublicKey) bool {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if ks.keys == nil || ks.now().Sub(ks.fetchedAt) >= ks.maxAge {
		return false
	}
	return key != nil && ks.keys[kid] == key
}

// fetch finds the JWKS through discovery (once) and fetches it.
func (ks *keySet) fetch(ctx context.Context) (map[string]*rsa.PublicKey, error) {
	ks.mu.Lock()
	jwksURL := ks.jwksURL
	ks.mu.Unlock()
	if jwksURL == "" {
		var err error
		if jwksURL, err = ks.discover(ctx); err != nil {
			return nil, err
		}
		ks.mu.Lock()
		ks.jwksURL = jwksURL
		ks.mu.Unlock()
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := ks.getJSON(ctx, jwksURL, &set); err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	keys := make(map[string]*rsa.PublicKey, len(set.Keys))
	for _, raw := range set.Keys {
		// One key of a type we cannot use must not hide the others.
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			continue
		}
		pub, ok := k.Key.(*rsa.PublicKey)
		if !ok || k.KeyID == "" || (k.Use != "" && k.Use != "sig") ||
			(k.Algorithm != "" && k.Algorithm != string(jose.RS256)) {
			continue
		}
		keys[k.KeyID] = pub
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("jwks %s has no RS256 signing keys", jwksURL)
	}
	return keys, nil
}

// discover reads jwks_uri from the issuer's OpenID discovery document,
// which Cognito serves at <issuer>/.well-known/openid-configuration.
func (ks *keySet) discover(ctx context.Context) (string, error) {
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := ks.getJSON(ctx, ks.issuer+"/.well-known/openid-configuration", &doc); err != nil {
		return "", fmt.Errorf("discover issuer: %w", err)
	}
	// As OpenID Connect Discovery requires: a document claiming another
	// issuer is not this issuer's.
	if strings.TrimSuffix(doc.Issuer, "/") != ks.issuer {
		return "", fmt.Errorf("discover issuer: document names issuer %q", doc.Issuer)
	}
	u, err := url.Parse(doc.JWKSURI)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("discover issuer: jwks_uri %q is not an http(s) URL", doc.JWKSURI)
	}
	return doc.JWKSURI, nil
}

func (ks *keySet) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := ks.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("get %s: status %d", u, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxFetchBytes+1))
	if err != nil {
		return fmt.Errorf("get %s: %w", u, err)
	}
	if len(b) > maxFetchBytes {
		return fmt.Errorf("get %s: body over %d bytes", u, maxFetchBytes)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", u, err)
	}
	return nil
}
