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

flags:
`)
		fset.PrintDefaults()
	}
	idpURL := fset.String("idp-url", "http://localhost:9229", "the identity provider's `URL`")
	clientID := fset.String("client-id", "portal", "app client `id`")
	username := fset.String("username", "", "the account's `email`")
	redirect := fset.String("redirect-uri", "http://localhost:8080/auth/callback", "a callback `URL` registered for the client")
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
	tok, err := signin.Run(ctx, signin.Config{
		URL:          *idpURL,
		ClientID:     *clientID,
		ClientSecret: getenv("PORTAL_CLIENT_SECRET"),
		RedirectURI:  *redirect,
		Scopes:       strings.Fields(*scope),
		Username:     *username,
		Password:     password,
	})
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
