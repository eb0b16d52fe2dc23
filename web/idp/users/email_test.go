package users

import (
	"context"
	"errors"
	"testing"
)

// TestChangeEmail: a change of address waits for its code; meanwhile the
// account keeps its alias and the new address blocks nobody.
func TestChangeEmail(t *testing.T) {
	ctx := context.Background()
	s, c := open(t)
	u, err := s.Create(ctx, "bo@example.com", "Passw0rd!", Confirmed, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	code, err := s.ChangeEmail(ctx, u.Sub, "Bo@New.example")
	if err != nil || len(code) != 6 {
		t.Fatalf("ChangeEmail = %q, %v", code, err)
	}
	if got, err := s.ByEmail(ctx, "bo@example.com"); err != nil || got.Sub != u.Sub || !got.EmailVerified {
		t.Fatalf("the old alias before verification: %+v %v", got, err)
	}
	if _, err := s.ByEmail(ctx, "bo@new.example"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the pending address is an alias: %v", err)
	}
	if _, err := s.VerifyEmail(ctx, u.Sub, "x"+code); !errors.Is(err, ErrBadCode) {
		t.Fatalf("VerifyEmail with a wrong code: %v", err)
	}

	// Someone signs up with the pending address: allowed, and it is
	// theirs.
	other, err := s.SignUp(ctx, "bo@new.example", "Passw0rd!", nil)
	if err != nil {
		t.Fatalf("sign-up with an address another account has pending: %v", err)
	}
	if _, err := s.VerifyEmail(ctx, u.Sub, code); !errors.Is(err, ErrExists) {
		t.Fatalf("VerifyEmail of a taken address: %v", err)
	}
	if got, _ := s.ByEmail(ctx, "bo@new.example"); got.Sub != other.Sub {
		t.Fatalf("the address went to %s, want the account that signed up", got.Sub)
	}

	if _, err := s.ChangeEmail(ctx, u.Sub, "bo@new.example"); !errors.Is(err, ErrExists) {
		t.Fatalf("ChangeEmail to another account's address: %v", err)
	}
	if _, err := s.ChangeEmail(ctx, u.Sub, "nope"); !errors.Is(err, ErrBadEmail) {
		t.Fatalf("ChangeEmail to a malformed address: %v", err)
	}
	code, err = s.ChangeEmail(ctx, u.Sub, "bo@third.example")
	if err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(EmailTTL)
	if _, err := s.VerifyEmail(ctx, u.Sub, code); !errors.Is(err, ErrExpiredCode) {
		t.Fatalf("VerifyEmail with an expired code: %v", err)
	}
	code, address, err := s.EmailCode(ctx, u.Sub, nil)
	if err != nil || address != "bo@third.example" {
		t.Fatalf("EmailCode = %q, %v", address, err)
	}
	got, err := s.VerifyEmail(ctx, u.Sub, code)
	if err != nil || got.Email != "bo@third.example" || !got.EmailVerified {
		t.Fatalf("VerifyEmail = %+v, %v", got, err)
	}
	if _, err := s.ByEmail(ctx, "bo@example.com"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the old alias after the change: %v", err)
	}
	if got, _ := s.ByEmail(ctx, "BO@third.example"); got.Sub != u.Sub {
		t.Fatal("the new alias does not find the account")
	}

	// With nothing pending, a code verifies the current address.
	if _, err := s.UpdateAttributes(ctx, u.Sub, map[string]string{"email_verified": "false"}); err != nil {
		t.Fatal(err)
	}
	code, address, err = s.EmailCode(ctx, u.Sub, func(string) error { return nil })
	if err != nil || address != "bo@third.example" {
		t.Fatalf("EmailCode = %q, %v", address, err)
	}
	if got, err := s.VerifyEmail(ctx, u.Sub, code); err != nil || !got.EmailVerified || got.Email != "bo@third.example" {
		t.Fatalf("VerifyEmail of the current address = %+v, %v", got, err)
	}
	refused := errors.New("no mail now")
	if _, _, err := s.EmailCode(ctx, u.Sub, func(string) error { return refused }); !errors.Is(err, refused) {
		t.Fatalf("EmailCode when not allowed: %v", err)
	}
}
