package idp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/usersvc/usersvc/web/idp/users"
)

// DefaultPoolID is the user pool id used when none is configured, in
// Cognito's <region>_<id> shape.
const DefaultPoolID = "us-east-1_LocalPool"

// Config is what a Server needs.
type Config struct {
	// URL is the provider's public origin (scheme, host, port; no path), for
	// example http://localhost:9229. The issuer is URL + "/" + PoolID.
	URL string
	// PoolID is the user pool id; DefaultPoolID when empty.
	PoolID string
	// DataDir holds the keys (<DataDir>/idp/keys.json), the user pool
	// (<DataDir>/idp/users.db, tokens.db) and the outbox (<DataDir>/outbox/).
	DataDir string
	// Clients are the app clients allowed to use the provider.
	Clients []Client
	// AdminEmail, when set, is an account made sure of at start-up:
	// confirmed and in the admins group. AdminPassword sets its password;
	// when empty, a new account gets a generated one (see
	// Server.GeneratedAdminPassword) and an existing one keeps its own.
	AdminEmail    string
	AdminPassword string
	// Outbox serves the /outbox page (development only). Mail is written to
	// <DataDir>/outbox either way.
	Outbox bool
	// OutboxRemote serves the /outbox page to clients that are not on a
	// loopback address too. Off, the page answers 404 to them: it shows
	// live reset codes and confirmation links, so on a provider reachable
	// from a network it takes an explicit choice.
	OutboxRemote bool
	// Log gets the provider's log lines; none when nil.
	Log *slog.Logger
	// Now is the time source; time.Now when nil.
	Now func() time.Time
	// PasswordCost is the argon2id cost of new password hashes;
	// users.DefaultCost when zero. Tests use users.TestCost.
	PasswordCost users.Cost
	// AccessKeyID and SecretAccessKey are the AWS credentials the JSON
	// API's admin operations must be signed with (SigV4, service
	// cognito-idp). AccessKeyID defaults to DefaultAccessKeyID. When
	// SecretAccessKey is empty, the secret kept in
	// <DataDir>/idp/secret-access-key (mode 0600) is used, generated at
	// the first start. Server.Credentials returns the pair in effect.
	AccessKeyID     string
	SecretAccessKey string
}

// DefaultAccessKeyID is the access key id of the admin API when none is
// configured.
const DefaultAccessKeyID = "local"

// SecretAccessKeyEnv is the environment variable commands read
// Config.SecretAccessKey from.
const SecretAccessKeyEnv = "PORTAL_IDP_SECRET_ACCESS_KEY"

// Client is an app client, in the JSON shape of Cognito's
// DescribeUserPoolClient (the fields the provider uses).
type Client struct {
	ClientId             string             `json:"ClientId"`
	ClientName           string             `json:"ClientName,omitempty"`
	ClientSecret         string             `json:"ClientSecret,omitempty"`
	CallbackURLs         []string           `json:"CallbackURLs"`
	LogoutURLs           []string           `json:"LogoutURLs,omitempty"`
	AllowedOAuthFlows    []string           `json:"AllowedOAuthFlows,omitempty"`
	AllowedOAuthScopes   []string           `json:"AllowedOAuthScopes,omitempty"`
	IdTokenValidity      int64              `json:"IdTokenValidity,omitempty"`
	AccessTokenValidity  int64              `json:"AccessTokenValidity,omitempty"`
	RefreshTokenValidity int64              `json:"RefreshTokenValidity,omitempty"`
	TokenValidityUnits   TokenValidityUnits `json:"TokenValidityUnits,omitzero"`
	// ExplicitAuthFlows are the flows the JSON API allows this client
	// (ALLOW_USER_SRP_AUTH, ALLOW_USER_PASSWORD_AUTH,
	// ALLOW_REFRESH_TOKEN_AUTH, ALLOW_ADMIN_USER_PASSWORD_AUTH); when
	// empty, Cognito's default: SRP and refresh.
	ExplicitAuthFlows []string `json:"ExplicitAuthFlows,omitempty"`
	// PreventUserExistenceErrors is "ENABLED" (the default here, as in
	// terraform/) or "LEGACY": with ENABLED, an unknown user gets the
	// answers a wrong password gets.
	PreventUserExistenceErrors string `json:"PreventUserExistenceErrors,omitempty"`
}

// Auth flow names of ExplicitAuthFlows.
const (
	FlowUserSRP       = "ALLOW_USER_SRP_AUTH"
	FlowUserPassword  = "ALLOW_USER_PASSWORD_AUTH"
	FlowRefreshToken  = "ALLOW_REFRESH_TOKEN_AUTH"
	FlowAdminPassword = "ALLOW_ADMIN_USER_PASSWORD_AUTH"
	FlowCustom        = "ALLOW_CUSTOM_AUTH"
)

// defaultFlows are Cognito's flows for a client created without
// ExplicitAuthFlows.
var defaultFlows = []string{FlowUserSRP, FlowRefreshToken, FlowCustom}

// flows returns the client's explicit auth flows, the default when none.
func (c Client) flows() []string {
	if len(c.ExplicitAuthFlows) == 0 {
		return defaultFlows
	}
	return c.ExplicitAuthFlows
}

// allows reports whether the client may use the auth flow (an ALLOW_ name).
func (c Client) allows(flow string) bool { return slices.Contains(c.flows(), flow) }

// preventsExistenceErrors reports whether unknown users get the answers
// of wrong passwords.
func (c Client) preventsExistenceErrors() bool { return c.PreventUserExistenceErrors != "LEGACY" }

// TokenValidityUnits names the unit of each validity: "seconds", "minutes",
// "hours" or "days". Cognito's defaults apply to empty fields: hours for ID
// and access tokens, days for refresh tokens.
type TokenValidityUnits struct {
	IdToken      string `json:"IdToken,omitempty"`
	AccessToken  string `json:"AccessToken,omitempty"`
	RefreshToken string `json:"RefreshToken,omitempty"`
}

// Public reports whether the client has no secret (a browser or CLI app).
func (c Client) Public() bool { return c.ClientSecret == "" }

// Cognito's limits and defaults for token lifetimes.
const (
	minTokenTTL      = 5 * time.Minute
	maxTokenTTL      = 24 * time.Hour
	defaultTokenTTL  = time.Hour
	minRefreshTTL    = time.Hour
	maxRefreshTTL    = 3650 * 24 * time.Hour
	defaultRefreshTT = 30 * 24 * time.Hour
)

// lifetimes are a client's token lifetimes, checked against Cognito's limits.
type lifetimes struct{ id, access, refresh time.Duration }

func validity(n int64, unit, defUnit string, def, lo, hi time.Duration) (time.Duration, error) {
	if n == 0 {
		return def, nil
	}
	if unit == "" {
		unit = defUnit
	}
	per := map[string]time.Duration{"seconds": time.Second, "minutes": time.Minute, "hours": time.Hour, "days": 24 * time.Hour}[unit]
	if per == 0 {
		return 0, fmt.Errorf("unknown validity unit %q", unit)
	}
	if n < 0 || n > int64(hi/per) {
		return 0, fmt.Errorf("validity %d %s is outside %v to %v", n, unit, lo, hi)
	}
	d := time.Duration(n) * per
	if d < lo {
		return 0, fmt.Errorf("validity %d %s is outside %v to %v", n, unit, lo, hi)
	}
	return d, nil
}

func (c Client) lifetimes() (lifetimes, error) {
	var l lifetimes
	var err error
	if l.id, err = validity(c.IdTokenValidity, c.TokenValidityUnits.IdToken, "hours", defaultTokenTTL, minTokenTTL, maxTokenTTL); err != nil {
		return l, fmt.Errorf("IdTokenValidity: %w", err)
	}
	if l.access, err = validity(c.AccessTokenValidity, c.TokenValidityUnits.AccessToken, "hours", defaultTokenTTL, minTokenTTL, maxTokenTTL); err != nil {
		return l, fmt.Errorf("AccessTokenValidity: %w", err)
	}
	if l.refresh, err = validity(c.RefreshTokenValidity, c.TokenValidityUnits.RefreshToken, "days", defaultRefreshTT, minRefreshTTL, maxRefreshTTL); err != nil {
		return l, fmt.Errorf("RefreshTokenValidity: %w", err)
	}
	return l, nil
}

// validate checks a client as Cognito's CreateUserPoolClient would, for the
// parts the provider relies on.
func (c Client) validate() error {
	if c.ClientId == "" {
		return errors.New("ClientId is empty")
	}
	if len(c.CallbackURLs) == 0 {
		return errors.New("no CallbackURLs")
	}
	for _, list := range [][]string{c.CallbackURLs, c.LogoutURLs} {
		for _, raw := range list {
			if err := checkRedirectURL(raw); err != nil {
				return err
			}
		}
	}
	for _, f := range c.ExplicitAuthFlows {
		switch f {
		case FlowUserSRP, FlowUserPassword, FlowRefreshToken, FlowAdminPassword, FlowCustom:
		default:
			return fmt.Errorf("ExplicitAuthFlows: unknown flow %q (want ALLOW_USER_SRP_AUTH, ALLOW_USER_PASSWORD_AUTH, ALLOW_REFRESH_TOKEN_AUTH, ALLOW_ADMIN_USER_PASSWORD_AUTH or ALLOW_CUSTOM_AUTH)", f)
		}
	}
	switch c.PreventUserExistenceErrors {
	case "", "ENABLED", "LEGACY":
	default:
		return fmt.Errorf("PreventUserExistenceErrors %q: want ENABLED or LEGACY", c.PreventUserExistenceErrors)
	}
	if len(c.AllowedOAuthFlows) > 0 && !slices.Contains(c.AllowedOAuthFlows, "code") {
		return errors.New(`AllowedOAuthFlows lacks "code", the only flow the provider implements`)
	}
	_, err := c.lifetimes()
	return err
}

// checkRedirectURL applies Amazon Cognito's rule for a registered callback
// or sign-out URL: absolute, no fragment, https, or plain http only when the
// host is exactly "localhost" (any port and path). Loopback addresses such
// as 127.0.0.1 and [::1] are refused over http, as Cognito refuses them, so
// that a client that works here also registers there. Whether a browser
// treats a host as a secure context (loopback.IsLocal, for cookies) is a
// different question with a wider answer.
func checkRedirectURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" {
		return fmt.Errorf("URL %q is not an absolute URL without a fragment", raw)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme != "http":
		return fmt.Errorf("URL %q must use https (or http://localhost)", raw)
	case u.Hostname() != "localhost":
		return fmt.Errorf("URL %q: Cognito allows plain http only for the host localhost, not %q; use https or http://localhost", raw, u.Hostname())
	}
	return nil
}

// LoadClients decodes {"UserPoolClients": [...]} (the shape of Cognito's
// list of client descriptions) and checks every client.
func LoadClients(r io.Reader) ([]Client, error) {
	var doc struct {
		UserPoolClients []Client `json:"UserPoolClients"`
	}
	dec := json.NewDecoder(r)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode clients: %w", err)
	}
	if len(doc.UserPoolClients) == 0 {
		return nil, errors.New("decode clients: no UserPoolClients")
	}
	seen := map[string]bool{}
	for i, c := range doc.UserPoolClients {
		if err := c.validate(); err != nil {
			return nil, fmt.Errorf("client %d (%q): %w", i, c.ClientId, err)
		}
		if seen[c.ClientId] {
			return nil, fmt.Errorf("client %q listed twice", c.ClientId)
		}
		seen[c.ClientId] = true
	}
	return doc.UserPoolClients, nil
}

// LoadClientsFile is LoadClients on the named file.
func LoadClientsFile(path string) ([]Client, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load clients: %w", err)
	}
	defer f.Close()
	cs, err := LoadClients(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cs, nil
}

// DevClient is the app client the portal uses in development: id "portal",
// the portal's callback (<portalURL>/auth/callback) and home page
// (<portalURL>/) as its only redirect targets, scopes openid, email and
// profile, Cognito's default lifetimes. It is confidential when secret is
// set and public otherwise.
func DevClient(portalURL, secret string) Client {
	portalURL = strings.TrimSuffix(portalURL, "/")
	return Client{
		ClientId:           "portal",
		ClientName:         "portal (development)",
		ClientSecret:       secret,
		CallbackURLs:       []string{portalURL + "/auth/callback"},
		LogoutURLs:         []string{portalURL + "/"},
		AllowedOAuthFlows:  []string{"code"},
		AllowedOAuthScopes: []string{"openid", "email", "profile"},
		ExplicitAuthFlows:  []string{FlowUserSRP, FlowRefreshToken},
	}
}
