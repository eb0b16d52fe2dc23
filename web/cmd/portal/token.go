package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/usersvc/usersvc/web/idp/signin"
)

// runToken signs a user in at the local identity provider and prints a
// token, for curl users:
//
//	curl -H "Authorization: Bearer $(portal token -username a@example.com)" localhost:3000/user?UserId=1
func runToken(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("token", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() {
		fmt.Fprint(stderr, `usage: portal token -username EMAIL [flags]

Signs in at the local identity provider (portal idp or portal dev) as a
browser would, through the Hosted UI code flow with PKCE, and prints the
access token (-id: the ID token; -json: the whole token response).

The password comes from PORTAL_PASSWORD; a confidential client's secret from
PORTAL_CLIENT_SECRET. Nothing is sent to -redirect-uri: the redirect is
captured. This works only against the local provider: Amazon Cognito's
Hosted UI pages differ (use a browser and the portal there).

Against portal dev the defaults fit: the public client portal-cli, which the
dev API accepts. portal idp without -clients registers only the portal's
client; when the provider does not know portal-cli and neither -client-id
nor -redirect-uri is given, the token is asked for as
-client-id portal -redirect-uri http://localhost:8080/auth/callback instead
(add PORTAL_CLIENT_SECRET if portal idp was given one), and portal api must
accept it (its default -audience does).

flags:
`)
		fset.PrintDefaults()
	}
	idpURL := fset.String("idp-url", "http://localhost:9229", "the identity provider's `URL`")
	clientID := fset.String("client-id", cliClientID, "app client `id`")
	username := fset.String("username", "", "the account's `email`")
	redirect := fset.String("redirect-uri", cliCallback, "a callback `URL` registered for the client")
	scope := fset.String("scope", "openid email", "space-separated `scopes` to ask for")
	printID := fset.Bool("id", false, "print the ID token instead of the access token")
	printJSON := fset.Bool("json", false, "print the whole token response as JSON")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if fset.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fset.Args(), " "))
	}
	if *username == "" {
		fset.Usage()
		return errors.New("-username is required")
	}
	password := getenv("PORTAL_PASSWORD")
	if password == "" {
		return errors.New("set PORTAL_PASSWORD to the account's password")
	}
	if *printID && *printJSON {
		return errors.New("-id and -json exclude each other")
	}
	explicit := false
	fset.Visit(func(f *flag.Flag) {
		if f.Name == "client-id" || f.Name == "redirect-uri" {
			explicit = true
		}
	})
	secret := getenv("PORTAL_CLIENT_SECRET")
	cfg := signin.Config{
		URL:          *idpURL,
		ClientID:     *clientID,
		ClientSecret: secret,
		RedirectURI:  *redirect,
		Scopes:       strings.Fields(*scope),
		Username:     *username,
		Password:     password,
	}
	if cfg.ClientID == cliClientID {
		cfg.ClientSecret = "" // public: a secret meant for the portal's client must not go to it
	}
	tok, err := signin.Run(ctx, cfg)
	if err != nil && !explicit && unknownClient(err) {
		// portal idp without -clients: only the portal's own client exists.
		// The provider refused the authorization request before any
		// password was sent, so asking again is harmless.
		fmt.Fprintf(stderr, "portal token: the provider has no client %q; using %q (as for portal idp)\n", cliClientID, devClientID)
		cfg.ClientID, cfg.RedirectURI, cfg.ClientSecret = devClientID, idpPortalCallback, secret
		tok, err = signin.Run(ctx, cfg)
	}
	if err != nil {
		return err
	}
	switch {
	case *printJSON:
		_, err = fmt.Fprintf(stdout, "%s\n", tok.Raw)
	case *printID:
		if tok.IDToken == "" {
			return errors.New("no ID token: ask for the openid scope")
		}
		_, err = fmt.Fprintln(stdout, tok.IDToken)
	default:
		_, err = fmt.Fprintln(stdout, tok.AccessToken)
	}
	return err
}

// idpPortalCallback is the callback of the client `portal idp` registers
// without -clients, at its default -portal-url.
const idpPortalCallback = "http://localhost:8080/auth/callback"

// unknownClient reports whether the provider refused the authorization
// request because it does not know the client. The local provider says so
// on its error page as "unknown client_id"; TestTokenAgainstIDP keeps the
// two in step.
func unknownClient(err error) bool {
	return strings.Contains(err.Error(), "unknown client_id")
}
