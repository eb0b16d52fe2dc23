package accounts_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/usersvc/usersvc/web/accounts"
	"github.com/usersvc/usersvc/web/accounts/accountstest"
)

const poolID = "eu-west-1_Test"

var _ accounts.Client = (*accountstest.Pool)(nil)

func newPool(t *testing.T) (*accounts.Service, *accountstest.Pool) {
	t.Helper()
	p := accountstest.NewPool(poolID)
	return accounts.New(p, poolID), p
}

func emails(as []accounts.Account) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Email)
	}
	return out
}

func TestSearch(t *testing.T) {
	svc, p := newPool(t)
	for _, e := range []string{"ann@example.com", "anna@example.com", "bob@example.com", `q"uote@example.com`, `back\slash@example.com`} {
		p.Add(accountstest.User{Email: e, Enabled: true})
	}
	bob, _ := p.User("00000000-0000-4000-8000-000000000003")
	p.Add(accountstest.User{Username: "carol", Email: "carol@example.com"})

	tests := []struct {
		name string
		q    accounts.Query
		want []string
	}{
		{"everyone", accounts.Query{}, []string{"ann@example.com", "anna@example.com", "bob@example.com", `q"uote@example.com`, `back\slash@example.com`, "carol@example.com"}},
		{"email prefix", accounts.Query{Text: "ann"}, []string{"ann@example.com", "anna@example.com"}},
		{"prefix is not substring", accounts.Query{Text: "example"}, nil},
		{"quote matched as text", accounts.Query{Text: `q"`}, []string{`q"uote@example.com`}},
		{"backslash matched as text", accounts.Query{Text: `back\s`}, []string{`back\slash@example.com`}},
		{"injection attempt", accounts.Query{Text: `x" or email ^= "`}, nil},
		{"control characters", accounts.Query{Text: "ann\n\x00"}, nil},
		{"exact email", accounts.Query{By: accounts.ByEmail, Text: "ann@example.com"}, []string{"ann@example.com"}},
		{"exact sub", accounts.Query{By: accounts.BySub, Text: bob.Sub}, []string{"bob@example.com"}},
		{"sub is exact", accounts.Query{By: accounts.BySub, Text: bob.Sub[:10]}, nil},
		{"exact username", accounts.Query{By: accounts.ByUsername, Text: "carol"}, []string{"carol@example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := svc.Search(context.Background(), tt.q, 0, "")
			if err != nil {
				t.Fatal(err)
			}
			if got := emails(page.Accounts); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if page.Next != "" {
				t.Errorf("Next = %q on the only page", page.Next)
			}
		})
	}
}

func TestSearchAccountFields(t *testing.T) {
	svc, p := newPool(t)
	p.Add(accountstest.User{Email: "ann@example.com", Enabled: true, Status: types.UserStatusTypeUnconfirmed})
	page, err := svc.Search(context.Background(), accounts.Query{Text: "ann@"}, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	a := page.Accounts[0]
	if a.Email != "ann@example.com" || a.Status != "UNCONFIRMED" || !a.Enabled || a.Sub == "" || a.Username != a.Sub || a.Created.IsZero() || !a.EmailVerified {
		t.Errorf("account = %+v", a)
	}
	if !slices.IsSortedFunc(a.Attributes, func(x, y accounts.Attribute) int { return strings.Compare(x.Name, y.Name) }) || len(a.Attributes) != 3 {
		t.Errorf("attributes = %v", a.Attributes)
	}
}

func TestSearchPages(t *testing.T) {
	svc, p := newPool(t)
	for i := range 25 {
		p.Add(accountstest.User{Email: fmt.Sprintf("user%02d@example.com", i)})
		p.Add(accountstest.User{Email: fmt.Sprintf("other%02d@example.com", i)})
	}
	var all []string
	token := ""
	pages := 0
	for {
		page, err := svc.Search(context.Background(), accounts.Query{Text: "user"}, 10, token)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page.Accounts) > 10 {
			t.Fatalf("page of %d accounts, limit 10", len(page.Accounts))
		}
		all = append(all, emails(page.Accounts)...)
		if page.Next == "" {
			break
		}
		token = page.Next
	}
	if pages != 3 || len(all) != 25 || !slices.IsSorted(all) || slices.Compact(slices.Clone(all))[24] != "user24@example.com" {
		t.Errorf("%d pages, %d accounts: %v", pages, len(all), all)
	}
}

func TestSearchRefusesLongText(t *testing.T) {
	svc, p := newPool(t)
	_, err := svc.Search(context.Background(), accounts.Query{Text: strings.Repeat("a", accounts.MaxQueryText+1)}, 10, "")
	if !errors.Is(err, accounts.ErrInvalid) || accounts.Message(err) == "" {
		t.Errorf("err = %v, want ErrInvalid with a message", err)
	}
	if p.Calls["ListUsers"] != 0 {
		t.Error("Cognito was asked anyway")
	}
}

func TestGetAndLookup(t *testing.T) {
	svc, p := newPool(t)
	name := p.Add(accountstest.User{Email: "ann@example.com", Enabled: true, Groups: []string{"admins", "editors"}})
	p.Add(accountstest.User{Username: "bob", Sub: "sub-of-bob", Email: "bob@example.com"})
	ctx := context.Background()

	a, err := svc.Get(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if a.Username != name || !slices.Equal(a.Groups, []string{"admins", "editors"}) || !a.InGroup(accounts.AdminGroup) {
		t.Errorf("Get = %+v", a)
	}
	for _, id := range []string{"bob", "sub-of-bob"} {
		a, err := svc.Lookup(ctx, id)
		if err != nil || a.Username != "bob" {
			t.Errorf("Lookup(%q) = %+v, %v", id, a, err)
		}
	}
	a, err = svc.Find(ctx, "bob@example.com")
	if err != nil || a.Username != "bob" {
		t.Errorf("Find = %+v, %v", a, err)
	}
	for _, f := range []func() error{
		func() error { _, err := svc.Get(ctx, "nobody"); return err },
		func() error { _, err := svc.Get(ctx, ""); return err },
		func() error { _, err := svc.Lookup(ctx, "nobody"); return err },
		func() error { _, err := svc.Find(ctx, "nobody@example.com"); return err },
	} {
		if err := f(); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound", err)
		}
	}
}

func TestInvite(t *testing.T) {
	svc, p := newPool(t)
	ctx := context.Background()
	a, err := svc.Invite(ctx, " new@example.com ", true)
	if err != nil {
		t.Fatal(err)
	}
	u, ok := p.User(a.Username)
	if !ok || u.Email != "new@example.com" || u.Status != types.UserStatusTypeForceChangePassword || !slices.Contains(u.Groups, "admins") {
		t.Errorf("stored %+v", u)
	}
	if a.Email != "new@example.com" || a.Status != "FORCE_CHANGE_PASSWORD" {
		t.Errorf("Invite = %+v", a)
	}
	if !slices.Equal(p.Mail, []string{"invite new@example.com"}) {
		t.Errorf("mail = %q", p.Mail)
	}

	b, err := svc.Invite(ctx, "plain@example.com", false)
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := p.User(b.Username); len(u.Groups) != 0 {
		t.Errorf("groups = %v without -admin", u.Groups)
	}

	if _, err := svc.Invite(ctx, "new@example.com", false); !errors.Is(err, accounts.ErrExists) {
		t.Errorf("second invite: %v, want ErrExists", err)
	}
	for _, bad := range []string{"", "no-at-sign", "a@", "@b", "a b@example.com", "a\n@example.com", strings.Repeat("a", 250) + "@b.com"} {
		if _, err := svc.Invite(ctx, bad, false); !errors.Is(err, accounts.ErrInvalid) || accounts.Message(err) == "" {
			t.Errorf("Invite(%q) = %v, want ErrInvalid with a message", bad, err)
		}
	}
	if p.Calls["AdminCreateUser"] != 3 {
		t.Errorf("%d AdminCreateUser calls; bad input must not reach Cognito", p.Calls["AdminCreateUser"])
	}
}

func TestChanges(t *testing.T) {
	svc, p := newPool(t)
	ctx := context.Background()
	name := p.Add(accountstest.User{Email: "ann@example.com", Enabled: true})

	steps := []struct {
		name  string
		do    func(string) error
		check func(accountstest.User) bool
	}{
		{"disable", func(n string) error { return svc.Disable(ctx, n) }, func(u accountstest.User) bool { return !u.Enabled }},
		{"enable", func(n string) error { return svc.Enable(ctx, n) }, func(u accountstest.User) bool { return u.Enabled }},
		{"add", func(n string) error { return svc.AddToGroup(ctx, n, accounts.AdminGroup) }, func(u accountstest.User) bool { return slices.Contains(u.Groups, "admins") }},
		{"remove", func(n string) error { return svc.RemoveFromGroup(ctx, n, accounts.AdminGroup) }, func(u accountstest.User) bool { return len(u.Groups) == 0 }},
		{"reset", func(n string) error { return svc.ResetPassword(ctx, n) }, func(u accountstest.User) bool { return u.Status == types.UserStatusTypeResetRequired }},
		{"sign out", func(n string) error { return svc.SignOutEverywhere(ctx, n) }, func(u accountstest.User) bool { return u.SignedOut == 1 }},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if err := s.do(name); err != nil {
				t.Fatal(err)
			}
			if u, _ := p.User(name); !s.check(u) {
				t.Errorf("after %s: %+v", s.name, u)
			}
			if err := s.do("deleted-meanwhile"); !errors.Is(err, accounts.ErrNotFound) {
				t.Errorf("on a missing account: %v, want ErrNotFound", err)
			}
		})
	}
}

func TestIsAdmin(t *testing.T) {
	svc, p := newPool(t)
	ctx := context.Background()
	admin := p.Add(accountstest.User{Email: "a@example.com", Enabled: true, Groups: []string{"admins"}})
	disabled := p.Add(accountstest.User{Email: "d@example.com", Groups: []string{"admins"}})
	plain := p.Add(accountstest.User{Email: "p@example.com", Enabled: true})
	for name, want := range map[string]bool{admin: true, disabled: false, plain: false, "gone": false} {
		if got, err := svc.IsAdmin(ctx, name); err != nil || got != want {
			t.Errorf("IsAdmin(%s) = %v, %v; want %v", name, got, err, want)
		}
	}
	p.Fail = func(op, _ string) error { return accountstest.Throttled(op, "req-1") }
	if _, err := svc.IsAdmin(ctx, admin); !errors.Is(err, accounts.ErrUnavailable) {
		t.Errorf("throttled: %v, want ErrUnavailable", err)
	}
}

func TestRefusedReset(t *testing.T) {
	svc, p := newPool(t)
	name := p.Add(accountstest.User{Email: "new@example.com", Status: types.UserStatusTypeForceChangePassword})
	err := svc.ResetPassword(context.Background(), name)
	if !errors.Is(err, accounts.ErrRefused) || !strings.Contains(accounts.Message(err), "cannot be reset") {
		t.Errorf("err = %v, want ErrRefused with Cognito's reason", err)
	}
}

// sdkClient is the SDK's real client against srv, with no retries so that
// each fault is seen once.
func sdkClient(url string) *cip.Client {
	return cip.New(cip.Options{
		Region:           "eu-west-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      aws.AnonymousCredentials{},
		RetryMaxAttempts: 1,
	})
}

// TestErrorsThroughTheSDK checks the classification on errors as the SDK
// really builds them from Cognito's answers.
func TestErrorsThroughTheSDK(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		want    error
		wantMsg string
	}{
		{"throttled", 400, `{"__type":"TooManyRequestsException","message":"Rate exceeded"}`, accounts.ErrUnavailable, ""},
		{"limit", 400, `{"__type":"LimitExceededException","message":"Limit exceeded"}`, accounts.ErrUnavailable, ""},
		{"internal", 500, `{"__type":"InternalErrorException","message":"boom"}`, accounts.ErrUnavailable, ""},
		{"bad gateway", 502, `<html>bad gateway</html>`, accounts.ErrUnavailable, ""},
		{"not found", 400, `{"__type":"UserNotFoundException","message":"User does not exist."}`, accounts.ErrNotFound, ""},
		{"exists", 400, `{"__type":"UsernameExistsException","message":"exists"}`, accounts.ErrExists, ""},
		{"invalid", 400, `{"__type":"InvalidParameterException","message":"Invalid email address format."}`, accounts.ErrInvalid, "Invalid email address format."},
		{"refused", 400, `{"__type":"NotAuthorizedException","message":"User password cannot be reset in the current state."}`, accounts.ErrRefused, "User password cannot be reset in the current state."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/x-amz-json-1.1")
				w.Header().Set("x-amzn-RequestId", "req-"+tt.name)
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			svc := accounts.New(sdkClient(srv.URL), poolID)
			err := svc.Disable(context.Background(), "ann")
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if got := accounts.RequestID(err); got != "req-"+tt.name {
				t.Errorf("request id %q", got)
			}
			if got := accounts.Message(err); got != tt.wantMsg {
				t.Errorf("message %q, want %q", got, tt.wantMsg)
			}
		})
	}

	t.Run("down", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		err := accounts.New(sdkClient(url), poolID).Disable(context.Background(), "ann")
		if !errors.Is(err, accounts.ErrUnavailable) || accounts.RequestID(err) != "" {
			t.Errorf("err = %v, want ErrUnavailable without a request id", err)
		}
	})
	t.Run("access denied is no kind", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("x-amzn-RequestId", "req-denied")
			w.WriteHeader(400)
			w.Write([]byte(`{"__type":"AccessDeniedException","message":"not allowed"}`))
		}))
		defer srv.Close()
		err := accounts.New(sdkClient(srv.URL), poolID).Disable(context.Background(), "ann")
		for _, k := range []error{accounts.ErrNotFound, accounts.ErrExists, accounts.ErrInvalid, accounts.ErrRefused, accounts.ErrUnavailable} {
			if errors.Is(err, k) {
				t.Errorf("err = %v is %v", err, k)
			}
		}
		if err == nil || accounts.Message(err) != "" {
			t.Errorf("err = %v, message %q: a permission fault's text is not for the page", err, accounts.Message(err))
		}
	})
}

func TestStubErrorsMatchTheSDK(t *testing.T) {
	// The stub's canned errors are what handler tests rely on; they must
	// classify as the SDK's real ones do above.
	err := accounts.New(failing(accountstest.Throttled("AdminDisableUser", "req-9")), poolID).Disable(context.Background(), "x")
	if !errors.Is(err, accounts.ErrUnavailable) || accounts.RequestID(err) != "req-9" {
		t.Errorf("throttled: %v", err)
	}
	err = accounts.New(failing(accountstest.NotFound("AdminDisableUser", "req-8")), poolID).Disable(context.Background(), "x")
	if !errors.Is(err, accounts.ErrNotFound) || accounts.RequestID(err) != "req-8" {
		t.Errorf("not found: %v", err)
	}
}

func failing(err error) *accountstest.Pool {
	p := accountstest.NewPool(poolID)
	p.Fail = func(string, string) error { return err }
	return p
}

func TestPoolFromIssuer(t *testing.T) {
	tests := []struct {
		issuer, pool, region string
		ok                   bool
	}{
		{"https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123", "eu-west-1_AbC123", "eu-west-1", true},
		{"http://localhost:9229/local_pool/", "local_pool", "local", true},
		{"https://cognito-idp.eu-west-1.amazonaws.com/", "", "", false},
		{"https://example.com/nopool", "", "", false},
		{"::", "", "", false},
	}
	for _, tt := range tests {
		pool, region, err := accounts.PoolFromIssuer(tt.issuer)
		if (err == nil) != tt.ok || pool != tt.pool || region != tt.region {
			t.Errorf("PoolFromIssuer(%q) = %q, %q, %v", tt.issuer, pool, region, err)
		}
	}
}

func TestNewDefaultRefusesANonPoolID(t *testing.T) {
	if _, err := accounts.NewDefault(context.Background(), "no-pool-id"); err == nil || !strings.Contains(err.Error(), "no user pool id") {
		t.Errorf("err = %v", err)
	}
}
