package accounts_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/usersvc/usersvc/web/accounts"
	"github.com/usersvc/usersvc/web/accounts/accountstest"
	"github.com/usersvc/usersvc/web/idp/users"
)

// TestAgainstLocalProvider runs the Service through the SDK against the
// local identity provider's Cognito API: the same calls as against AWS.
func TestAgainstLocalProvider(t *testing.T) {
	p := accountstest.StartProvider(t, "root@example.com", "Root-pass1!", func(s *users.Store) {
		for i := range 130 {
			if _, err := s.Create(context.Background(), fmt.Sprintf("user%03d@example.com", i), "Some-pass1!", users.Confirmed, true, nil); err != nil {
				t.Fatal(err)
			}
		}
	})
	svc := accounts.New(p.Client, p.PoolID)
	ctx := context.Background()

	t.Run("search and pages", func(t *testing.T) {
		var got []string
		token := ""
		for pages := 0; ; pages++ {
			page, err := svc.Search(ctx, accounts.Query{Text: "user1"}, 25, token)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, emails(page.Accounts)...)
			if page.Next == "" {
				break
			}
			if pages > 10 {
				t.Fatal("endless pages")
			}
			token = page.Next
		}
		slices.Sort(got)
		if len(got) != 30 || got[0] != "user100@example.com" || slices.ContainsFunc(got, func(e string) bool { return !strings.HasPrefix(e, "user1") }) {
			t.Errorf("user1*: %d accounts %v", len(got), got)
		}
		for _, q := range []string{`x" or email ^= "`, `user1\`, "user1\n", `"`, strings.Repeat(`"`, 100)} {
			page, err := svc.Search(ctx, accounts.Query{Text: q}, 10, "")
			if err != nil && !errors.Is(err, accounts.ErrInvalid) {
				t.Errorf("search %q: %v", q, err)
			}
			if len(page.Accounts) != 0 {
				t.Errorf("search %q found %v", q, emails(page.Accounts))
			}
		}
	})

	t.Run("account, groups, lookups", func(t *testing.T) {
		root, err := svc.Find(ctx, "root@example.com")
		if err != nil {
			t.Fatal(err)
		}
		a, err := svc.Get(ctx, root.Username)
		if err != nil || !a.InGroup(accounts.AdminGroup) || a.Status != "CONFIRMED" || !a.Enabled || a.Sub == "" || a.Created.IsZero() {
			t.Fatalf("Get = %+v, %v", a, err)
		}
		for _, id := range []string{a.Username, a.Sub} {
			if b, err := svc.Lookup(ctx, id); err != nil || b.Sub != a.Sub {
				t.Errorf("Lookup(%q) = %+v, %v", id, b, err)
			}
		}
		if ok, err := svc.IsAdmin(ctx, a.Username); !ok || err != nil {
			t.Errorf("IsAdmin = %v, %v", ok, err)
		}
		for _, f := range []func() error{
			func() error { _, err := svc.Get(ctx, "00000000-0000-0000-0000-000000000000"); return err },
			func() error { _, err := svc.Lookup(ctx, "nobody"); return err },
			func() error { _, err := svc.Find(ctx, "nobody@example.com"); return err },
			func() error { return svc.Disable(ctx, "00000000-0000-0000-0000-000000000000") },
		} {
			if err := f(); !errors.Is(err, accounts.ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		}
	})

	t.Run("invite and change", func(t *testing.T) {
		a, err := svc.Invite(ctx, "new@example.com", true)
		if err != nil {
			t.Fatal(err)
		}
		if a.Status != "FORCE_CHANGE_PASSWORD" || a.Username == "" || !slices.Contains(a.Groups, accounts.AdminGroup) {
			t.Errorf("Invite = %+v", a)
		}
		if m, err := p.Server.Outbox().Latest("new@example.com"); err != nil || !strings.Contains(m.Body, "temporary password") {
			t.Errorf("invitation mail: %+v, %v", m, err)
		}
		if _, err := svc.Invite(ctx, "new@example.com", false); !errors.Is(err, accounts.ErrExists) {
			t.Errorf("second invite: %v", err)
		}
		got := func() accounts.Account {
			t.Helper()
			a, err := svc.Get(ctx, a.Username)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		if err := svc.Disable(ctx, a.Username); err != nil || got().Enabled {
			t.Errorf("Disable: %v", err)
		}
		if ok, _ := svc.IsAdmin(ctx, a.Username); ok {
			t.Error("a disabled admin counts as admin")
		}
		if err := svc.Enable(ctx, a.Username); err != nil || !got().Enabled {
			t.Errorf("Enable: %v", err)
		}
		if err := svc.RemoveFromGroup(ctx, a.Username, accounts.AdminGroup); err != nil || got().InGroup(accounts.AdminGroup) {
			t.Errorf("RemoveFromGroup: %v", err)
		}
		if err := svc.AddToGroup(ctx, a.Username, accounts.AdminGroup); err != nil || !got().InGroup(accounts.AdminGroup) {
			t.Errorf("AddToGroup: %v", err)
		}
		if err := svc.SignOutEverywhere(ctx, a.Username); err != nil {
			t.Errorf("SignOutEverywhere: %v", err)
		}
		// An invitee who never set a password cannot be reset, as in Cognito.
		if err := svc.ResetPassword(ctx, a.Username); err != nil && !errors.Is(err, accounts.ErrRefused) && !errors.Is(err, accounts.ErrInvalid) {
			t.Errorf("ResetPassword of an invitee: %v", err)
		}
		u, err := svc.Find(ctx, "user007@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.ResetPassword(ctx, u.Username); err != nil {
			t.Fatalf("ResetPassword: %v", err)
		}
		if st := must(svc.Get(ctx, u.Username)).Status; st != "RESET_REQUIRED" {
			t.Errorf("status after reset %s", st)
		}
	})

	t.Run("wrong credentials are no kind", func(t *testing.T) {
		bad := accounts.New(accountstest.StartProviderClient(p, "wrong-secret"), p.PoolID)
		_, err := bad.Get(ctx, "x")
		for _, k := range []error{accounts.ErrNotFound, accounts.ErrUnavailable, accounts.ErrRefused} {
			if errors.Is(err, k) {
				t.Errorf("bad signature: %v is %v", err, k)
			}
		}
		if err == nil || accounts.RequestID(err) == "" {
			t.Errorf("bad signature: %v (request id %q)", err, accounts.RequestID(err))
		}
	})
}

func must(a accounts.Account, err error) accounts.Account {
	if err != nil {
		panic(err)
	}
	return a
}

// TestNewDefaultUnderLoad makes many calls in a row, each one attempt
// only: without BufferRequestBodies a few hundred are enough for the
// SDK and net/http to lose a response ("use of closed network
// connection").
func TestNewDefaultUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("1,500 calls; skipped with -short")
	}
	p := accountstest.StartProvider(t, "root@example.com", "Root-pass1!", func(s *users.Store) {
		for i := range 100 {
			if _, err := s.Create(context.Background(), fmt.Sprintf("user%03d@example.com", i), "Some-pass1!", users.Confirmed, true, nil); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	svc, err := accounts.NewDefault(context.Background(), p.PoolID, func(o *cip.Options) {
		o.Region = p.Region
		o.BaseEndpoint = aws.String(p.URL)
		o.Credentials = credentials.NewStaticCredentialsProvider(p.KeyID, p.Secret, "")
		o.RetryMaxAttempts = 1
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1500 {
		if _, err := svc.Search(context.Background(), accounts.Query{Text: "user"}, 60, ""); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}
