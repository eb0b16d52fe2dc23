package users

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func open(t testing.TB) (*Store, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s, err := Open(t.TempDir(), TestCost, c.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}

func TestSignUpAuthenticateConfirm(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	u, err := s.SignUp(ctx, " Ana@Example.com ", "Passw0rd!", nil)
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "ana@example.com" || u.Status != Unconfirmed || u.EmailVerified || len(u.Sub) != 36 {
		t.Fatalf("new user = %+v", u)
	}
	for _, c := range []struct{ email, pw string }{
		{"ana@example.com", "wrong"},
		{"nobody@example.com", "Passw0rd!"},
		{"not an email", "Passw0rd!"},
	} {
		if _, err := s.Authenticate(ctx, c.email, c.pw); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("Authenticate(%q, %q) = %v, want ErrBadCredentials", c.email, c.pw, err)
		}
	}
	got, err := s.Authenticate(ctx, "ana@EXAMPLE.com", "Passw0rd!")
	if err != nil || got.Sub != u.Sub {
		t.Fatalf("Authenticate = %+v, %v", got, err)
	}
	link, _ := s.NewCode(ctx, u.Sub, PurposeConfirm)
	if err := s.ConfirmWithCode(ctx, u.Sub, link); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, u.Sub); got.Status != Confirmed || !got.EmailVerified {
		t.Fatalf("after Confirm: %+v", got)
	}
	reset, _ := s.NewCode(ctx, u.Sub, PurposeReset)
	if err := s.ResetPassword(ctx, u.Sub, reset, "N3w-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "ana@example.com", "Passw0rd!"); !errors.Is(err, ErrBadCredentials) {
		t.Fatal("old password still works")
	}
}

// TestSignUpPendingAccount is the pre-registration takeover, both ways
// round (issue 13, point 4): a second sign-up of an address that was never
// confirmed changes nothing, so the link mailed for the first confirms only
// the first registrant's password; an owner who did not register first
// claims the address with a reset code, which kills the first link.
func TestSignUpPendingAccount(t *testing.T) {
	ctx := context.Background()
	const email, attacker, owner = "victim@example.com", "Att4cker-pw", "0wner-Passw0rd"

	t.Run("owner first", func(t *testing.T) {
		s, _ := open(t)
		first, err := s.SignUp(ctx, email, owner, nil)
		if err != nil {
			t.Fatal(err)
		}
		ownerLink, _ := s.NewCode(ctx, first.Sub, PurposeConfirm)
		if _, err := s.SignUp(ctx, "Victim@Example.com", attacker, nil); !errors.Is(err, ErrPending) {
			t.Fatalf("second sign-up: %v, want ErrPending", err)
		}
		if err := s.ConfirmWithCode(ctx, first.Sub, ownerLink); err != nil {
			t.Fatalf("owner's link after a second sign-up: %v", err)
		}
		if _, err := s.Authenticate(ctx, email, attacker); !errors.Is(err, ErrBadCredentials) {
			t.Fatal("the second registrant's password works")
		}
		if u, err := s.Authenticate(ctx, email, owner); err != nil || u.Status != Confirmed {
			t.Fatalf("owner: %+v, %v", u, err)
		}
	})

	t.Run("attacker first", func(t *testing.T) {
		s, _ := open(t)
		first, err := s.SignUp(ctx, email, attacker, nil)
		if err != nil {
			t.Fatal(err)
		}
		attackerLink, _ := s.NewCode(ctx, first.Sub, PurposeConfirm)
		if _, err := s.SignUp(ctx, email, owner, nil); !errors.Is(err, ErrPending) {
			t.Fatalf("owner's sign-up: %v, want ErrPending", err)
		}
		reset, _ := s.NewCode(ctx, first.Sub, PurposeReset)
		if err := s.ResetPassword(ctx, first.Sub, reset, owner); err != nil {
			t.Fatal(err)
		}
		if err := s.ConfirmWithCode(ctx, first.Sub, attackerLink); !errors.Is(err, ErrBadCode) {
			t.Fatalf("first registrant's link after the owner's reset: %v", err)
		}
		if _, err := s.Authenticate(ctx, email, attacker); !errors.Is(err, ErrBadCredentials) {
			t.Fatal("the first registrant's password works on the claimed account")
		}
		if u, err := s.Authenticate(ctx, email, owner); err != nil || u.Status != Confirmed {
			t.Fatalf("owner: %+v, %v", u, err)
		}
		// A confirmed address: sign-up changes nothing.
		if _, err := s.SignUp(ctx, email, attacker, nil); !errors.Is(err, ErrExists) {
			t.Fatalf("sign-up of a confirmed address: %v, want ErrExists", err)
		}
		if _, err := s.Authenticate(ctx, email, owner); err != nil {
			t.Fatal("sign-up of a confirmed address changed its password")
		}
	})
}

// TestCodeBoundToPassword: a link issued before the password changed is
// dead, even if nobody signed up again (a reset changes the password too).
func TestCodeBoundToPassword(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	u, _ := s.SignUp(ctx, "b@example.com", "Passw0rd!", nil)
	link, _ := s.NewCode(ctx, u.Sub, PurposeConfirm)
	reset, _ := s.NewCode(ctx, u.Sub, PurposeReset)
	if err := s.ResetPassword(ctx, u.Sub, reset, "N3w-password"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, u.Sub); got.Status != Confirmed {
		t.Fatalf("reset did not confirm: %+v", got)
	}
	if err := s.useCode(ctx, u.Sub, PurposeConfirm, link); !errors.Is(err, ErrBadCode) {
		t.Fatalf("link from before the reset: %v, want ErrBadCode", err)
	}
}

func TestSeed(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	u, gen, err := s.Seed(ctx, "admin@example.com", "", AdminGroup)
	if err != nil {
		t.Fatal(err)
	}
	if gen == "" || len(CheckPassword(gen)) != 0 {
		t.Fatalf("generated password %q breaks the policy: %v", gen, CheckPassword(gen))
	}
	if u.Status != Confirmed || !slices.Equal(u.Groups, []string{AdminGroup}) {
		t.Fatalf("seeded admin = %+v", u)
	}
	if _, err := s.Authenticate(ctx, "admin@example.com", gen); err != nil {
		t.Fatal(err)
	}
	_, gen2, err := s.Seed(ctx, "admin@example.com", "", AdminGroup)
	if err != nil || gen2 != "" {
		t.Fatalf("second seed generated %q (err %v); the first password must stay", gen2, err)
	}
	if _, _, err := s.Seed(ctx, "admin@example.com", "Fixed-pass1", AdminGroup); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "admin@example.com", "Fixed-pass1"); err != nil {
		t.Fatal("seed with a password did not set it")
	}
}

func TestCodes(t *testing.T) {
	ctx := context.Background()
	s, c := open(t)
	u, _ := s.SignUp(ctx, "a@example.com", "Passw0rd!", nil)

	code, err := s.NewCode(ctx, u.Sub, PurposeReset)
	if err != nil || len(code) != 6 {
		t.Fatalf("reset code %q, %v", code, err)
	}
	if err := s.useCode(ctx, u.Sub, PurposeConfirm, code); !errors.Is(err, ErrBadCode) {
		t.Fatal("a reset code confirmed an account")
	}
	if err := s.useCode(ctx, u.Sub, PurposeReset, code); err != nil {
		t.Fatal(err)
	}
	if err := s.useCode(ctx, u.Sub, PurposeReset, code); !errors.Is(err, ErrBadCode) {
		t.Fatal("a code worked twice")
	}

	code, _ = s.NewCode(ctx, u.Sub, PurposeReset)
	for range MaxCodeAttempts {
		s.useCode(ctx, u.Sub, PurposeReset, "wrong")
	}
	if err := s.useCode(ctx, u.Sub, PurposeReset, code); !errors.Is(err, ErrBadCode) {
		t.Fatal("code still valid after too many wrong guesses")
	}

	code, _ = s.NewCode(ctx, u.Sub, PurposeConfirm)
	c.t = c.t.Add(ConfirmTTL)
	if err := s.useCode(ctx, u.Sub, PurposeConfirm, code); !errors.Is(err, ErrBadCode) {
		t.Fatal("expired code accepted")
	}
}

func TestRefreshFamilies(t *testing.T) {
	ctx := context.Background()
	s, c := open(t)
	r := Refresh{Sub: "s", ClientID: "portal", OriginJTI: "o1", Expires: c.t.Add(time.Hour)}
	if err := s.SaveRefresh(ctx, "tok", r); err != nil {
		t.Fatal(err)
	}
	if got, err := s.LookupRefresh(ctx, "tok"); err != nil || got.OriginJTI != "o1" {
		t.Fatalf("LookupRefresh = %+v, %v", got, err)
	}
	if _, err := s.LookupRefresh(ctx, "other"); !errors.Is(err, ErrBadCode) {
		t.Fatal("unknown token accepted")
	}
	if err := s.RevokeFamily(ctx, "o1", r.Expires); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupRefresh(ctx, "tok"); !errors.Is(err, ErrBadCode) {
		t.Fatal("revoked token accepted")
	}
	if ok, _ := s.Revoked(ctx, "o1"); !ok {
		t.Fatal("family not reported revoked")
	}
}

func TestCheckPassword(t *testing.T) {
	for _, c := range []struct {
		pw   string
		want []string
	}{
		{"Passw0rd!", nil},
		{"Pa0!", []string{PasswordShort}},
		{"password0!", []string{PasswordUpper}},
		{"PASSWORD0!", []string{PasswordLower}},
		{"Password!!", []string{PasswordDigit}},
		{"Password00", []string{PasswordSymbol}},
		{" Passw0rd", []string{PasswordSpacing}},
		// Only basic Latin letters and ASCII digits count, as in Cognito.
		{"ÄBCDEFG1!a", nil},
		{"Äbcdefg1!", []string{PasswordUpper}},
		{"PASSWÖRT1!", []string{PasswordLower}},
		{"ПАРОЛЬ-пароль1", []string{PasswordUpper, PasswordLower}},
		{"Password١!", []string{PasswordDigit}},
		{"Passw0rd§", []string{PasswordSymbol}},
		{"Passw0rd€", []string{PasswordSymbol}},
		{"Pass w0rd", nil},
		{"Passw0rd^", nil},
		{"Passw0rd`", nil},
		{"Passw0rd=", nil},
	} {
		if got := CheckPassword(c.pw); !slices.Equal(got, c.want) {
			t.Errorf("CheckPassword(%q) = %q, want %q", c.pw, got, c.want)
		}
	}
}

func TestOpenReplacesUnreadableTokenFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tokens.db"), []byte("not a bbolt file, long enough to be read as one"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, TestCost, nil)
	if err != nil {
		t.Fatalf("a broken token file stopped the pool from opening: %v", err)
	}
	s.Close()
}
