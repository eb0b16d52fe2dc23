package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/usersvc/usersvc/terraform"
	"github.com/usersvc/usersvc/web/accounts"
	"github.com/usersvc/usersvc/web/idp"
)

const adminUsage = `usage: portal admin [flags] <command> [arguments]

Administers the accounts of the user pool over Cognito's API, with the AWS
SDK's standard credentials and configuration (AWS_PROFILE, AWS_REGION,
AWS_ACCESS_KEY_ID, ...). Against the local identity provider, point the SDK
at it the standard way:

	export AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER=http://localhost:9229

with the key pair portal idp (or portal dev) prints.

commands:
  invite EMAIL [-admin]    create an account; Cognito mails a temporary password
  grant EMAIL              add the account to the admins group
  revoke EMAIL             remove the account from the admins group
  list [-filter PREFIX]    list accounts, or those whose email starts with PREFIX
  disable EMAIL            stop the account from signing in
  enable EMAIL             let a disabled account sign in again

EMAIL may also be an account's username or sub. The pool is -user-pool-id,
or the one in -aws-config (written by portal deploy); the local provider's
is ` + idp.DefaultPoolID + ` unless portal idp or portal dev was given -pool-id.

flags:
`

// runAdmin is `portal admin`: account administration for the operator's
// shell, the way to make the first admin after portal deploy.
func runAdmin(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("admin", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() {
		fmt.Fprint(stderr, adminUsage)
		fset.PrintDefaults()
	}
	poolID := fset.String("user-pool-id", "", "the user pool's `id` (default: from -aws-config)")
	awsConfig := fset.String("aws-config", filepath.Join(".local", "aws.json"), "configuration `file` written by portal deploy, read when -user-pool-id is not given")
	makeAdmin := fset.Bool("admin", false, "invite: also add the account to the admins group")
	filter := fset.String("filter", "", "list: only accounts whose email starts with `PREFIX`")
	// Flags may come before or after the command and its argument, as in
	// "portal admin invite a@example.com -admin".
	var words []string
	for {
		if err := fset.Parse(args); err != nil {
			return err
		}
		if fset.NArg() == 0 {
			break
		}
		words = append(words, fset.Arg(0))
		args = fset.Args()[1:]
	}
	if len(words) == 0 {
		fset.Usage()
		return errors.New("admin: no command given")
	}
	cmd, operands := words[0], words[1:]
	want := 1
	if cmd == "list" {
		want = 0
	}
	switch cmd {
	case "invite", "grant", "revoke", "disable", "enable", "list":
	default:
		fset.Usage()
		return fmt.Errorf("admin: unknown command %q", cmd)
	}
	if len(operands) != want {
		fset.Usage()
		if want == 0 {
			return fmt.Errorf("admin %s: unexpected arguments %q", cmd, operands)
		}
		return fmt.Errorf("admin %s: give one EMAIL", cmd)
	}
	if *makeAdmin && cmd != "invite" {
		return fmt.Errorf("admin %s: -admin is for invite", cmd)
	}
	if *filter != "" && cmd != "list" {
		return fmt.Errorf("admin %s: -filter is for list", cmd)
	}

	pool, err := adminPool(*poolID, *awsConfig)
	if err != nil {
		return err
	}
	svc, err := accounts.NewDefault(ctx, pool)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}

	if cmd == "list" {
		return adminList(ctx, svc, *filter, stdout)
	}
	who := strings.TrimSpace(operands[0])
	if cmd == "invite" {
		a, err := svc.Invite(ctx, who, *makeAdmin)
		if err != nil {
			return adminError("invite "+who, err)
		}
		fmt.Fprintf(stdout, "invited %s (username %s, status %s); Cognito mailed them a temporary password\n", a.Email, a.Username, a.Status)
		if *makeAdmin {
			fmt.Fprintf(stdout, "%s is in %s\n", a.Email, accounts.AdminGroup)
		}
		return nil
	}
	a, err := adminFind(ctx, svc, who)
	if err != nil {
		return adminError(cmd+" "+who, err)
	}
	var done string
	switch cmd {
	case "grant":
		// An address nobody verified may have been typed by anyone: by
		// email, grant only an account that proved it holds the mailbox.
		if strings.Contains(who, "@") && !a.EmailVerified {
			return fmt.Errorf("admin: grant %s: that account has not verified the address, so it may not be its owner's; grant it by username (%s) if you are sure", who, a.Username)
		}
		err = svc.AddToGroup(ctx, a.Username, accounts.AdminGroup)
		done = "added to " + accounts.AdminGroup
	case "revoke":
		err = svc.RemoveFromGroup(ctx, a.Username, accounts.AdminGroup)
		done = "removed from " + accounts.AdminGroup
	case "disable":
		err = svc.Disable(ctx, a.Username)
		done = "disabled"
	case "enable":
		err = svc.Enable(ctx, a.Username)
		done = "enabled"
	}
	if err != nil {
		return adminError(cmd+" "+who, err)
	}
	fmt.Fprintf(stdout, "%s %s\n", accountName(a), done)
	return nil
}

// adminPool returns the pool id: from -user-pool-id, else from the file
// portal deploy writes (its user_pool_id, else the last path segment of
// its issuer).
func adminPool(poolID, awsConfig string) (string, error) {
	if poolID != "" {
		return poolID, nil
	}
	c, err := terraform.LoadConfig(awsConfig)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("admin: no -user-pool-id given and %s does not exist (run portal deploy first)", awsConfig)
	}
	if err != nil {
		return "", fmt.Errorf("admin: %w", err)
	}
	if c.UserPoolID != "" {
		return c.UserPoolID, nil
	}
	if poolID, _, err = accounts.PoolFromIssuer(c.Issuer); err != nil {
		return "", fmt.Errorf("admin: %s names no user pool (%w); give -user-pool-id", awsConfig, err)
	}
	return poolID, nil
}

// adminFind finds the account an operator named: by email when it holds
// an @, else by username or sub.
func adminFind(ctx context.Context, svc *accounts.Service, who string) (accounts.Account, error) {
	if strings.Contains(who, "@") {
		return svc.Find(ctx, who)
	}
	return svc.Lookup(ctx, who)
}

func adminList(ctx context.Context, svc *accounts.Service, prefix string, stdout io.Writer) error {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tSTATUS\tENABLED\tCREATED\tUSERNAME")
	token := ""
	n := 0
	for {
		page, err := svc.Search(ctx, accounts.Query{By: accounts.ByEmailPrefix, Text: strings.TrimSpace(prefix)}, accounts.MaxPageSize, token)
		if err != nil {
			// What was listed so far is shown; a header alone is not.
			if n > 0 {
				tw.Flush()
			}
			return adminError("list", err)
		}
		for _, a := range page.Accounts {
			enabled := "yes"
			if !a.Enabled {
				enabled = "no"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", printable(a.Email), a.Status, enabled, a.Created.UTC().Format("2006-01-02 15:04"), printable(a.Username))
			n++
		}
		if page.Next == "" || page.Next == token {
			break
		}
		token = page.Next
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if n == 0 && prefix != "" {
		fmt.Fprintf(stdout, "no account's email starts with %q\n", prefix)
	}
	return nil
}

// printable keeps an attribute from moving the terminal's cursor.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

func accountName(a accounts.Account) string {
	if a.Email != "" {
		return a.Email
	}
	return a.Username
}

// adminError says what went wrong in the operator's terms.
func adminError(what string, err error) error {
	id := ""
	if rid := accounts.RequestID(err); rid != "" {
		id = " (Cognito request id " + rid + ")"
	}
	switch {
	case errors.Is(err, accounts.ErrNotFound):
		return fmt.Errorf("%s: no such account%s", what, id)
	case errors.Is(err, accounts.ErrExists):
		return fmt.Errorf("%s: an account with this email exists already%s", what, id)
	case errors.Is(err, accounts.ErrInvalid), errors.Is(err, accounts.ErrRefused):
		return fmt.Errorf("%s: %s%s", what, accounts.Message(err), id)
	case errors.Is(err, accounts.ErrUnavailable):
		return fmt.Errorf("%s: Cognito is throttling or not answering; nothing was changed, try again%s: %w", what, id, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
