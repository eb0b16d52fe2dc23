package portal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// provider is the OIDC provider as the portal sees it, discovered once. In
// `portal dev` the portal starts together with the provider, and in AWS
// the issuer may be briefly unreachable, so discovery is lazy and retried
// (at most once a second) until it succeeds; after that it is never
// repeated.
type provider struct {
	cfg  Config
	base *url.URL
	log  *slog.Logger

	mu      sync.Mutex
	ready   *discovered
	lastTry time.Time
	lastErr error
}

// discovered is everything derived from the discovery document.
type discovered struct {
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
	// hostedUI is the base of the sign-up and sign-out pages.
	hostedUI *url.URL
	// revokeURL is the token revocation endpoint.
	revokeURL string
}

func newProvider(cfg Config, base *url.URL, log *slog.Logger) *provider {
	return &provider{cfg: cfg, base: base, log: log}
}

// errProviderDown is returned while discovery keeps failing.
var errProviderDown = errors.New("identity provider unavailable")

// retryEvery limits discovery attempts while the provider is down.
const retryEvery = time.Second

func (p *provider) get(ctx context.Context) (*discovered, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ready != nil {
		return p.ready, nil
	}
	if !p.lastTry.IsZero() && time.Since(p.lastTry) < retryEvery {
		return nil, p.lastErr
	}
	p.lastTry = time.Now()
	d, err := p.discover(ctx)
	if err != nil {
		p.log.Warn("oidc discovery failed; will retry", "issuer", p.cfg.Issuer, "error", err)
		p.lastErr = fmt.Errorf("%w: %v", errProviderDown, err)
		return nil, p.lastErr
	}
	p.ready = d
	p.log.Info("oidc provider discovered", "issuer", p.cfg.Issuer, "hosted_ui", d.hostedUI.String())
	return d, nil
}

func (p *provider) discover(ctx context.Context) (*discovered, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	op, err := oidc.NewProvider(p.clientContext(ctx), p.cfg.Issuer)
	if err != nil {
		return nil, err
	}
	var extra struct {
		Revocation string `json:"revocation_endpoint"`
	}
	if err := op.Claims(&extra); err != nil {
		return nil, fmt.Errorf("read discovery document: %w", err)
	}
	ep := op.Endpoint()
	if p.cfg.ClientSecret != "" {
		ep.AuthStyle = oauth2.AuthStyleInHeader
	} else {
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	hosted, err := hostedUI(p.cfg.HostedUI, ep.AuthURL)
	if err != nil {
		return nil, err
	}
	revoke := extra.Revocation
	if revoke == "" {
		revoke = hosted.String() + "/oauth2/revoke"
	}
	return &discovered{
		oauth: &oauth2.Config{
			ClientID:     p.cfg.ClientID,
			ClientSecret: p.cfg.ClientSecret,
			Endpoint:     ep,
			RedirectURL:  p.base.String() + "/auth/callback",
			Scopes:       p.cfg.Scopes,
		},
		verifier:  op.Verifier(&oidc.Config{ClientID: p.cfg.ClientID, Now: p.cfg.Now}),
		hostedUI:  hosted,
		revokeURL: revoke,
	}, nil
}

// hostedUI returns the configured hosted UI base, or else the one implied by
// the authorization endpoint: Cognito's is <domain>/oauth2/authorize, and
// its sign-up and logout pages are <domain>/signup and <domain>/logout.
func hostedUI(configured, authURL string) (*url.URL, error) {
	if configured != "" {
		return url.Parse(strings.TrimSuffix(configured, "/"))
	}
	u, err := url.Parse(authURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("authorization endpoint %q is not an absolute url", authURL)
	}
	if strings.HasSuffix(u.Path, "/oauth2/authorize") {
		u.Path = strings.TrimSuffix(u.Path, "/oauth2/authorize")
	} else {
		u.Path = ""
	}
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// formOrigin is the provider origin the sign-out form ends up at, for the
// Content-Security-Policy's form-action (Chromium applies it to the
// redirects that follow a form submission).
func (p *provider) formOrigin() string {
	p.mu.Lock()
	ready := p.ready
	p.mu.Unlock()
	var u *url.URL
	switch {
	case ready != nil:
		u = ready.hostedUI
	case p.cfg.HostedUI != "":
		u, _ = url.Parse(p.cfg.HostedUI)
	default:
		u, _ = url.Parse(p.cfg.Issuer)
	}
	if u == nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// clientContext makes go-oidc and x/oauth2 use the configured HTTP client.
func (p *provider) clientContext(ctx context.Context) context.Context {
	ctx = oidc.ClientContext(ctx, p.cfg.HTTPClient)
	return context.WithValue(ctx, oauth2.HTTPClient, p.cfg.HTTPClient)
}

// revoke asks the provider to revoke a refresh token (and with it, in
// Cognito, the access tokens issued from it).
func (p *provider) revoke(ctx context.Context, d *discovered, refreshToken string) error {
	form := url.Values{"token": {refreshToken}, "client_id": {p.cfg.ClientID}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.revokeURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("build revoke request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if p.cfg.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(p.cfg.ClientID), url.QueryEscape(p.cfg.ClientSecret))
	}
	resp, err := p.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("revoke refresh token: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("revoke refresh token: provider answered %d", resp.StatusCode)
	}
	return nil
}
