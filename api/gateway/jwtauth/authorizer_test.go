package jwtauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/usersvc/usersvc/api/gateway/internal/testissuer"
	"github.com/usersvc/usersvc/api/gateway/jwtauth"
)

var alice = testissuer.User{Sub: "11111111-2222-4333-8444-555555555555", Username: "alice", Email: "alice@example.com", Groups: []string{"admins", "editors"}}

func newAuthorizer(t *testing.T, iss *testissuer.Issuer, clk *testissuer.Clock, mut ...func(*jwtauth.Config)) *jwtauth.Authorizer {
	t.Helper()
	cfg := jwtauth.Config{Issuer: iss.URL, Audience: []string{"portal", "cli"}, HTTPClient: iss.Client(), Now: clk.Now}
	for _, m := range mut {
		m(&cfg)
	}
	a, err := jwtauth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAuthorizeValidTokens(t *testing.T) {
	iss := testissuer.New(t)
	clk := testissuer.NewClock(time.Now())
	a := newAuthorizer(t, iss, clk)
	id := iss.Sign(t, iss.IDToken(alice, "portal", clk.Now()))
	access := iss.Sign(t, iss.AccessToken(alice, "cli", "openid email", clk.Now()))

	for name, header := range map[string]string{
		"id token with Bearer":    "Bearer " + id,
		"id token bare":           id,
		"access token":            "Bearer " + access,
		"lower-case bearer":       "bearer " + access,
		"surrounding white space": "  Bearer   " + id + " ",
	} {
		t.Run(name, func(t *testing.T) {
			res, err := a.Authorize(context.Background(), header, nil)
			if err != nil {
				t.Fatalf("Authorize: %v", err)
			}
			if res.Claims["sub"] != alice.Sub || res.Claims["cognito:groups"] != "[admins editors]" {
				t.Errorf("claims = %v", res.Claims)
			}
			if res.Scopes != nil {
				t.Errorf("scopes = %v, want nil for a route without scopes", res.Scopes)
			}
		})
	}
}

func TestAuthorizeAudienceRules(t *testing.T) {
	iss := testissuer.New(t)
	clk := testissuer.NewClock(time.Now())
	a := newAuthorizer(t, iss, clk)
	now := clk.Now()
	tests := []struct {
		name   string
		claims map[string]any
		ok     bool
	}{
		{"aud matches", map[string]any{"aud": "portal"}, true},
		{"aud array with a match", map[string]any{"aud": []string{"other", "cli"}}, true},
		{"aud wins over client_id", map[string]any{"aud": "other", "client_id": "portal"}, false},
		{"client_id when no aud", map[string]any{"client_id": "cli"}, true},
		{"client_id of another client", map[string]any{"client_id": "other"}, false},
		{"neither", map[string]any{}, false},
		{"empty aud", map[string]any{"aud": ""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims := map[string]any{"iss": iss.URL, "sub": "s", "exp": now.Add(time.Hour).Unix()}
			for k, v := range tt.claims {
				claims[k] = v
			}
			_, err := a.Authorize(context.Background(), iss.Sign(t, claims), nil)
			if (err == nil) != tt.ok {
				t.Fatalf("Authorize err = %v, want ok=%v", err, tt.ok)
			}
			var aerr *jwtauth.Error
			if err != nil && (!errors.As(err, &aerr) || aerr.Description != "the token does not have a valid audience") {
				t.Errorf("err = %v, want the audience description", err)
			}
		})
	}
}

func TestAuthorizeTimeRules(t *testing.T) {
	iss := testissuer.New(t)
	clk := testissuer.NewClock(time.Unix(1_800_000_000, 0))
	a := newAuthorizer(t, iss, clk)
	now := clk.Now()
	tests := []struct {
		name   string
		claims map[string]any
		want   string // "" for accepted
	}{
		{"fresh", map[string]any{"exp": now.Add(time.Minute).Unix()}, ""},
		{"expired", map[string]any{"exp": now.Add(-time.Minute).Unix()}, "the token has expired"},
		{"expired just now, within leeway", map[string]any{"exp": now.Add(-2 * time.Second).Unix()}, ""},
		{"expired past leeway", map[string]any{"exp": now.Add(-10 * time.Second).Unix()}, "the token has expired"},
		{"no exp", map[string]any{}, "the token has no valid expiry"},
		{"exp a string", map[string]any{"exp": "1900000000"}, "the token has no valid expiry"},
		{"fractional exp", map[string]any{"exp": float64(now.Unix()) + 60.5}, ""},
		{"nbf in the past", map[string]any{"exp": now.Add(time.Hour).Unix(), "nbf": now.Add(-time.Minute).Unix()}, ""},
		{"nbf in the future", map[string]any{"exp": now.Add(time.Hour).Unix(), "nbf": now.Add(time.Minute).Unix()}, "the token is not valid yet"},
		{"iat in the future", map[string]any{"exp": now.Add(time.Hour).Unix(), "iat": now.Add(time.Minute).Unix()}, "the token was issued in the future"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims := map[string]any{"iss": iss.URL, "sub": "s", "aud": "portal"}
			for k, v := range tt.claims {
				claims[k] = v
			}
			_, err := a.Authorize(context.Background(), iss.Sign(t, claims), nil)
			got := ""
			if err != nil {
				var aerr *jwtauth.Error
				if !errors.As(err, &aerr) {
					t.Fatalf("err %v is not *jwtauth.Error", err)
				}
				got = aerr.Description
			}
			if got != tt.want {
				t.Errorf("refusal = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAuthorizeScopes(t *testing.T) {
	iss := testissuer.New(t)
	clk := testissuer.NewClock(time.Now())
	a := newAuthorizer(t, iss, clk)
	now := clk.Now()
	base := func(extra map[string]any) string {
		c := map[string]any{"iss": iss.URL, "sub": "s", "client_id": "portal", "exp": now.Add(time.Hour).Unix()}
		for k, v := range extra {
			c[k] = v
		}
		return iss.Sign(t, c)
	}
	tests := []struct {
		name       string
		token      string
		scopes     []string
		wantScopes []string
		ok         bool
	}{
		{"any of, scope claim", base(map[string]any{"scope": "openid users/read"}), []string{"users/write", "users/read"}, []string{"openid", "users/read"}, true},
		{"scp array", base(map[string]any{"scp": []string{"users/read"}}), []string{"users/read"}, []string{"users/read"}, true},
		{"missing scope", base(map[string]any{"scope": "openid email"}), []string{"users/read"}, nil, false},
		{"no scope claim", base(nil), []string{"users/read"}, nil, false},
		{"route without scopes ignores them", base(map[string]any{"scope": "openid"}), nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := a.Authorize(context.Background(), tt.token, tt.scopes)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil {
				var aerr *jwtauth.Error
				errors.As(err, &aerr)
				want := `Bearer scope="` + strings.Join(tt.scopes, " ") + `" error="insufficient_scope" error_description="the token does not have a required scope"`
				if aerr.Challenge() != want {
					t.Errorf("challenge = %s, want %s", aerr.Challenge(), want)
				}
				return
			}
			if strings.Join(res.Scopes, " ") != strings.Join(tt.wantScopes, " ") {
				t.Errorf("scopes = %v, want %v", res.Scopes, tt.wantScopes)
			}
		})
	}
}

func TestRenderClaim(t *testing.T) {
	iss := testissuer.New(t)
	clk := testissuer.NewClock(time.Unix(1_800_000_000, 0))
	a := newAuthorizer(t, iss, clk)
	claims := map[string]any{
		"iss": iss.URL, "aud": "portal", "exp": 1800003600,
		"str": "a b", "int": 42, "big": json.Number("12345678901234567890"), "float": 1.5,
		"bool": true, "arr": []any{"x", "y", 3}, "empty": []any{},
		"obj": map[string]any{"b": 1, "a": "z"}, "null": nil,
	}
	res, err := a.Authorize(context.Background(), iss.Sign(t, claims), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"str": "a b", "int": "42", "big": "12345678901234567890", "float": "1.5",
		"bool": "true", "arr": "[x y 3]", "empty": "[]", "obj": "{a=z b=1}", "null": "",
		"exp": "1800003600", "aud": "portal",
	}
	for k, v := range want {
		if res.Claims[k] != v {
			t.Errorf("claim %s = %q, want %q", k, res.Claims[k], v)
		}
	}
}

func TestKeyRotationIsPickedUp(t *testing.T) {
	iss := testissuer.New(t)
	clk := testissuer.NewClock(time.Now())
	a := newAuthorizer(t, iss, clk)
	ctx := context.Background()
	if _, err := a.Authorize(ctx, iss.Sign(t, iss.IDToken(alice, "portal", clk.Now())), nil); err != nil {
		t.Fatal(err)
	}
	iss.Rotate(t, "key-2", true)
	// A token with the new kid right after the first fetch: an unknown kid
	// may refetch only once a minute, so it fails for now.
	tok := iss.Sign(t, iss.IDToken(alice, "portal", clk.Now()))
	if _, err := a.Authorize(ctx, tok, nil); err == nil {
		t.Fatal("new kid accepted before the refetch interval passed")
	}
	clk.Add(61 * time.Second)
	if _, err := a.Authorize(ctx, tok, nil); err != nil {
		t.Fatalf("new kid after a minute: %v", err)
	}
	if n := iss.JWKSFetches(); n != 2 {
		t.Errorf("JWKS fetched %d times, want 2", n)
	}
	if n := iss.DiscoveryFetches(); n != 1 {
		t.Errorf("discovery fetched %d times, want 1", n)
	}
}

func TestUnknownKidRefetchIsRateLimited(t *testing.T) {
	iss := testissuer.New(t)
	clk := testissuer.NewClock(time.Now())
	a := newAuthorizer(t, iss, clk)
	ctx := context.Background()
	if _, err := a.Authorize(ctx, iss.Sign(t, iss.IDToken(alice, "portal", clk.Now())), nil); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		k := testissuer.NewKeyCached(t)
		k.ID = fmt.Sprintf("forged-%d", i)
		forged := testissuer.SignWith(t, k, iss.IDToken(alice, "portal", clk.Now()))
		if _, err := a.Authorize(ctx, forged, nil); err == nil {
			t.Fatalf("forged token %d accepted", i)
		}
		clk.Add(time.Second)
	}
	// 50 seconds of forged kids: the first fetch plus at most one refetch.
	if n := iss.JWKSFetches(); n > 2 {
		t.Errorf("JWKS fetched %d times, want at most 2", n)
	}
}

func TestKeysExpireAfterMaxAge(t *testing.T) {
	iss := testissuer.New(t)
	clk := testissuer.NewClock(time.Now())
	a := newAuthorizer(t, iss, clk, func(c *jwtauth.Config) { c.MaxKeyAge = 10 * time.Hour }) // capped at 2 h
	ctx := context.Background()
	claims := iss.IDToken(alice, "portal", clk.Now())
	claims["exp"] = clk.Now().Add(24 * time.Hour).Unix()
	tok := iss.Sign(t, claims)
	if _, err := a.Authorize(ctx, tok, nil); err != nil {
		t.Fatal(err)
	}
	iss.SetJWKSDown(true)
	clk.Add(time.Hour)
	if _, err := a.Authorize(ctx, tok, nil); err != nil {
		t.Fatalf("cached keys within 2 h: %v", err)
	}
	clk.Add(time.Hour + time.Second)
	if _, err := a.Authorize(ctx, tok, nil); err == nil {
		t.Fatal("keys older than 2 h trusted while the JWKS is down")
	}
	iss.SetJWKSDown(false)
	clk.Add(jwtauth.DefaultRetryInterval)
	if _, err := a.Authorize(ctx, tok, nil); err != nil {
		t.Fatalf("after the JWKS came back: %v", err)
	}
}

func TestJWKSDownLetsNothingThrough(t *testing.T) {
	iss := testissuer.New(t)
	iss.SetJWKSDown(true)
	clk := testissuer.NewClock(time.Now())
	a := newAuthorizer(t, iss, clk)
	tok := iss.Sign(t, iss.IDToken(alice, "portal", clk.Now()))
	for range 3 {
		_, err := a.Authorize(context.Background(), tok, nil)
		var aerr *jwtauth.Error
		if !errors.As(err, &aerr) {
			t.Fatalf("err = %v, want a refusal", err)
		}
	}
	if n := iss.JWKSFetches(); n != 1 {
		t.Errorf("JWKS fetched %d times in one retry interval, want 1", n)
	}
	// The issuer comes up: the next retry lets valid tokens in.
	iss.SetJWKSDown(false)
	clk.Add(jwtauth.DefaultRetryInterval)
	if _, err := a.Authorize(context.Background(), tok, nil); err != nil {
		t.Fatal(err)
	}
}

func TestIssuerNotUpYet(t *testing.T) {
	clk := testissuer.NewClock(time.Now())
	a, err := jwtauth.New(jwtauth.Config{Issuer: "http://127.0.0.1:1/pool", Audience: []string{"portal"}, Now: clk.Now})
	if err != nil {
		t.Fatalf("New must not contact the issuer: %v", err)
	}
	if _, err := a.Authorize(context.Background(), "a.b.c", nil); err == nil {
		t.Fatal("token accepted with the issuer down")
	}
}

func TestConcurrentFirstRequestsShareOneFetch(t *testing.T) {
	iss := testissuer.New(t)
	clk := testissuer.NewClock(time.Now())
	a := newAuthorizer(t, iss, clk)
	tok := iss.Sign(t, iss.IDToken(alice, "portal", clk.Now()))
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 32 {
		wg.Go(func() {
			if _, err := a.Authorize(context.Background(), tok, nil); err != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d concurrent requests refused", failed.Load())
	}
	if n := iss.JWKSFetches(); n != 1 {
		t.Errorf("JWKS fetched %d times, want 1", n)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]jwtauth.Config{
		"no issuer":   {Audience: []string{"a"}},
		"not a URL":   {Issuer: "cognito", Audience: []string{"a"}},
		"ftp issuer":  {Issuer: "ftp://x/pool", Audience: []string{"a"}},
		"no audience": {Issuer: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X"},
	} {
		if _, err := jwtauth.New(cfg); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

func FuzzAuthorize(f *testing.F) {
	iss := testissuer.New(f)
	clk := testissuer.NewClock(time.Now())
	a, err := jwtauth.New(jwtauth.Config{Issuer: iss.URL, Audience: []string{"portal"}, HTTPClient: iss.Client(), Now: clk.Now})
	if err != nil {
		f.Fatal(err)
	}
	good := iss.Sign(f, iss.IDToken(alice, "portal", clk.Now()))
	f.Add("Bearer " + good)
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("Bearer ..")
	f.Add(`{"payload":"e30","signatures":[]}`)
	f.Fuzz(func(t *testing.T, header string) {
		res, err := a.Authorize(context.Background(), header, []string{"x"})
		if err == nil {
			t.Fatalf("fuzzed header accepted: %q -> %v", header, res.Claims)
		}
		var aerr *jwtauth.Error
		if !errors.As(err, &aerr) {
			t.Fatalf("error %v is not a refusal", err)
		}
	})
}

func TestVerifiedTokensStillFollowTheRules(t *testing.T) {
	iss := testissuer.New(t)
	clk := testissuer.NewClock(time.Now())
	a := newAuthorizer(t, iss, clk)
	ctx := context.Background()
	tok := iss.Sign(t, iss.IDToken(alice, "portal", clk.Now()))
	for range 3 {
		if _, err := a.Authorize(ctx, tok, nil); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("scopes are checked on every use", func(t *testing.T) {
		if _, err := a.Authorize(ctx, tok, []string{"users/admin"}); err == nil {
			t.Fatal("a verified token passed a scope it does not have")
		}
	})
	t.Run("a retired key no longer vouches for its tokens", func(t *testing.T) {
		iss.Rotate(t, "key-2", true)
		clk.Add(2 * time.Minute)
		fresh := iss.Sign(t, iss.IDToken(alice, "portal", clk.Now()))
		if _, err := a.Authorize(ctx, fresh, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Authorize(ctx, tok, nil); err == nil {
			t.Fatal("token of a retired key accepted from the cache")
		}
	})
	t.Run("expiry is checked on every use", func(t *testing.T) {
		fresh := iss.Sign(t, iss.IDToken(alice, "portal", clk.Now()))
		if _, err := a.Authorize(ctx, fresh, nil); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Hour + time.Minute)
		_, err := a.Authorize(ctx, fresh, nil)
		var aerr *jwtauth.Error
		if !errors.As(err, &aerr) || aerr.Description != "the token has expired" {
			t.Fatalf("err = %v, want expired", err)
		}
	})
}

func TestKeyReplacedUnderTheSameKidRevokesCachedTokens(t *testing.T) {
	iss := testissuer.New(t)
	clk := testissuer.NewClock(time.Now())
	a := newAuthorizer(t, iss, clk)
	ctx := context.Background()
	old := iss.SigningKey()
	tok := iss.Sign(t, iss.IDToken(alice, "portal", clk.Now()))
	if _, err := a.Authorize(ctx, tok, nil); err != nil {
		t.Fatal(err)
	}
	// The issuer replaces its key with another one under the same kid.
	iss.Rotate(t, old.ID, true)
	if iss.SigningKey().ID != old.ID {
		t.Fatal("rotation changed the kid")
	}
	// An unknown kid, once the refresh interval has passed, refetches the
	// key set.
	clk.Add(jwtauth.DefaultRefreshInterval + time.Second)
	unknown := testissuer.NewKeyCached(t)
	unknown.ID = "unknown"
	if _, err := a.Authorize(ctx, testissuer.SignWith(t, unknown, iss.IDToken(alice, "portal", clk.Now())), nil); err == nil {
		t.Fatal("token of an unknown kid accepted")
	}
	if n := iss.JWKSFetches(); n != 2 {
		t.Fatalf("JWKS fetched %d times, want 2", n)
	}
	if _, err := a.Authorize(ctx, tok, nil); err == nil {
		t.Fatal("token signed with the replaced key accepted from the cache")
	}
	if _, err := a.Authorize(ctx, iss.Sign(t, iss.IDToken(alice, "portal", clk.Now())), nil); err != nil {
		t.Fatalf("token of the new key: %v", err)
	}
}

func TestCachedTokensSurviveARefetchOfTheSameKey(t *testing.T) {
	iss := testissuer.New(t)
	clk := testissuer.NewClock(time.Now())
	a := newAuthorizer(t, iss, clk)
	ctx := context.Background()
	claims := iss.IDToken(alice, "portal", clk.Now())
	claims["exp"] = clk.Now().Add(24 * time.Hour).Unix()
	tok := iss.Sign(t, claims)
	if _, err := a.Authorize(ctx, tok, nil); err != nil {
		t.Fatal(err)
	}
	// Past the key age the set is fetched again and holds the same key.
	clk.Add(jwtauth.DefaultMaxKeyAge + time.Second)
	if _, err := a.Authorize(ctx, tok, nil); err != nil {
		t.Fatalf("after a refetch of the same key: %v", err)
	}
	if n := iss.JWKSFetches(); n != 2 {
		t.Errorf("JWKS fetched %d times, want 2", n)
	}
}

// TestMissingKeyIsLogged checks that the log tells apart the two reasons
// for "the token signing key could not be found".
func TestMissingKeyIsLogged(t *testing.T) {
	tests := []struct {
		name     string
		jwksDown bool
		want     string
	}{
		{"unknown kid", false, "no signing key with that kid"},
		{"issuer keys unavailable", true, "issuer keys unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss := testissuer.New(t)
			iss.SetJWKSDown(tt.jwksDown)
			clk := testissuer.NewClock(time.Now())
			var logs strings.Builder
			a := newAuthorizer(t, iss, clk, func(c *jwtauth.Config) { c.Log = slog.New(slog.NewTextHandler(&logs, nil)) })
			k := testissuer.NewKeyCached(t)
			k.ID = "unknown"
			_, err := a.Authorize(context.Background(), testissuer.SignWith(t, k, iss.IDToken(alice, "portal", clk.Now())), nil)
			var aerr *jwtauth.Error
			if !errors.As(err, &aerr) || aerr.Description != "the token signing key could not be found" {
				t.Fatalf("err = %v", err)
			}
			if !strings.Contains(logs.String(), tt.want) {
				t.Errorf("log %q does not say %q", logs.String(), tt.want)
			}
		})
	}
}

// The attack of issue 13, point 8: a token whose kid is 8 KB (of the 16 KB a token may have). It is
// refused, and the log line it causes stays short and says it was cut.
func TestHugeKidIsClippedInTheLog(t *testing.T) {
	iss := testissuer.New(t)
	clk := testissuer.NewClock(time.Now())
	var logs strings.Builder
	var mu sync.Mutex
	a := newAuthorizer(t, iss, clk, func(c *jwtauth.Config) {
		c.Log = slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return logs.Write(p)
		}), nil))
	})
	k := testissuer.NewKeyCached(t)
	k.ID = strings.Repeat("K", 8<<10)
	forged := testissuer.SignWith(t, k, iss.IDToken(alice, "portal", clk.Now()))
	if _, err := a.Authorize(context.Background(), forged, nil); err == nil {
		t.Fatal("forged token accepted")
	}
	mu.Lock()
	defer mu.Unlock()
	for line := range strings.Lines(logs.String()) {
		if len(line) > 600 {
			t.Errorf("log line of %d bytes: %.200s...", len(line), line)
		}
	}
	if !strings.Contains(logs.String(), "truncated, 8192 bytes") {
		t.Errorf("log does not say the kid was cut:\n%s", logs.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
