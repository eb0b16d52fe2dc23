package users

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// Lookup returns the account a Cognito username names: an email address
// (the pool's sign-in alias, compared case-insensitively) or the sub.
func (s *Store) Lookup(ctx context.Context, name string) (User, error) {
	r, err := s.lookup(ctx, name)
	return r.User, err
}

func (s *Store) lookup(ctx context.Context, name string) (record, error) {
	if strings.Contains(name, "@") {
		return s.byEmail(ctx, name)
	}
	if len(name) != 36 {
		return record{}, ErrNotFound
	}
	return s.get(ctx, name)
}

// SRPVerifier returns the SRP salt and verifier of the account's password,
// or ErrNotFound when it has none (a password set before the store had a
// VerifierFunc: the account signs in by password until its next change).
func (s *Store) SRPVerifier(ctx context.Context, sub string) (salt, verifier []byte, err error) {
	r, err := s.get(ctx, sub)
	if err != nil {
		return nil, nil, err
	}
	if len(r.SRPVerifier) == 0 {
		return nil, nil, ErrNotFound
	}
	return r.SRPSalt, r.SRPVerifier, nil
}

// DummySRP returns a salt and verifier that stand for an unknown account in
// an SRP challenge: the same for the same name, so that asking twice does
// not tell a real account from a made-up one. It returns nil, nil without a
// VerifierFunc.
func (s *Store) DummySRP(name string) (salt, verifier []byte) {
	if s.srp == nil {
		return nil, nil
	}
	salt, verifier, _ = s.srp(name, s.dummy+name)
	return salt, verifier
}

// SetPassword gives the account a new password and status, as an
// administrator does (AdminSetUserPassword: Confirmed when permanent,
// ForceChangePassword otherwise) and as a NEW_PASSWORD_REQUIRED answer
// does. Outstanding codes stop working (they are bound to the old hash).
// The caller checks the policy and ends the account's sessions.
func (s *Store) SetPassword(ctx context.Context, sub, password string, st Status) error {
	sec, err := s.newSecret(sub, password)
	if err != nil {
		return err
	}
	return s.update(ctx, sub, func(r *record) error {
		sec.apply(r)
		r.Status = st
		return nil
	})
}

// ChangePassword replaces the password of an account whose current
// password is old; it returns ErrBadCredentials otherwise, changing nothing.
func (s *Store) ChangePassword(ctx context.Context, sub, old, password string) error {
	r, err := s.get(ctx, sub)
	if err != nil {
		return err
	}
	ok, err := verify(r.PasswordHash, old)
	if err != nil {
		return fmt.Errorf("verify password of %s: %w", sub, err)
	}
	if !ok {
		return ErrBadCredentials
	}
	sec, err := s.newSecret(sub, password)
	if err != nil {
		return err
	}
	return s.update(ctx, sub, func(nr *record) error {
		// Not changed by someone else in between.
		if nr.PasswordHash != r.PasswordHash {
			return ErrBadCredentials
		}
		sec.apply(nr)
		return nil
	})
}

// CheckPasswordOf reports whether password is the account's (without
// looking at its status), after the same work whether or not it is.
func (s *Store) CheckPasswordOf(ctx context.Context, sub, password string) (bool, error) {
	r, err := s.get(ctx, sub)
	if errors.Is(err, ErrNotFound) {
		// Busy alike for no account, or busy would mean "it exists".
		if _, err := verify(s.dummy, password); errors.Is(err, ErrBusy) {
			return false, ErrBusy
		}
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return verify(r.PasswordHash, password)
}

// PasswordStamp returns a value that changes whenever the account's
// password does, for binding short-lived proofs (a challenge session) to
// the password they were issued under.
func (s *Store) PasswordStamp(ctx context.Context, sub string) ([]byte, error) {
	r, err := s.get(ctx, sub)
	if err != nil {
		return nil, err
	}
	return binding(r), nil
}

// Confirm confirms an account as an administrator does
// (AdminConfirmSignUp); the email stays as verified as it was.
func (s *Store) Confirm(ctx context.Context, sub string) error {
	return s.update(ctx, sub, func(r *record) error {
		if r.Status != Unconfirmed {
			return ErrNotUnconfirmed
		}
		r.Status = Confirmed
		return nil
	})
}

// ErrNotUnconfirmed is Confirm's answer for an account that is not waiting
// for confirmation.
var ErrNotUnconfirmed = errors.New("user is not unconfirmed")

// RequireReset marks the account RESET_REQUIRED (AdminResetUserPassword):
// its password no longer signs in, and the owner sets a new one with a
// reset code. Outstanding codes stop working.
func (s *Store) RequireReset(ctx context.Context, sub string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		r, err := getRecord(tx, sub)
		if err != nil {
			return err
		}
		r.Status, r.Updated = ResetRequired, s.now().UTC()
		if err := deleteCodes(tx, sub); err != nil {
			return err
		}
		return putRecord(tx, r)
	})
	if err != nil {
		return fmt.Errorf("require reset of %s: %w", sub, err)
	}
	return nil
}

// SetDisabled disables or enables an account.
func (s *Store) SetDisabled(ctx context.Context, sub string, disabled bool) error {
	return s.update(ctx, sub, func(r *record) error {
		r.Disabled = disabled
		return nil
	})
}

// UpdateAttributes sets (or, for an empty value, removes) attributes.
// "email" changes the sign-in address: it must be free (ErrExists
// otherwise) and becomes unverified unless attrs sets email_verified to
// "true" (an administrator's change). "email_verified" is "true" or
// "false". "sub" cannot change.
func (s *Store) UpdateAttributes(ctx context.Context, sub string, attrs map[string]string) (User, error) {
	if err := ctx.Err(); err != nil {
		return User{}, err
	}
	var out User
	err := s.db.Update(func(tx *bbolt.Tx) error {
		r, err := getRecord(tx, sub)
		if err != nil {
			return err
		}
		for name, v := range attrs {
			switch name {
			case "sub":
				return fmt.Errorf("%w: sub cannot change", ErrBadAttribute)
			case "email":
				email, err := NormalizeEmail(v)
				if err != nil {
					return err
				}
				if email == r.Email {
					continue
				}
				emails := tx.Bucket(bucketEmails)
				if emails.Get([]byte(email)) != nil {
					return ErrExists
				}
				if err := emails.Delete([]byte(r.Email)); err != nil {
					return err
				}
				if err := emails.Put([]byte(email), []byte(r.Sub)); err != nil {
					return err
				}
				r.Email, r.EmailVerified = email, attrs["email_verified"] == "true"
				// An administrator's address wins over one the owner
				// asked for and has not verified.
				r.PendingEmail = ""
				if err := tx.Bucket(bucketCodes).Delete(codeKey(PurposeEmail, r.Sub)); err != nil {
					return err
				}
			case "email_verified":
				if v != "true" && v != "false" {
					return fmt.Errorf("%w: email_verified must be true or false", ErrBadAttribute)
				}
				if _, changing := attrs["email"]; !changing {
					r.EmailVerified = v == "true"
				}
			default:
				if v == "" {
					delete(r.Attributes, name)
					continue
				}
				if r.Attributes == nil {
					r.Attributes = map[string]string{}
				}
				r.Attributes[name] = v
			}
		}
		r.Updated = s.now().UTC()
		out = r.User
		return putRecord(tx, r)
	})
	if err != nil {
		return User{}, fmt.Errorf("update attributes of %s: %w", sub, err)
	}
	return out, nil
}

// ChangeEmail records that the account's owner asks to change its address
// to email, and returns the code that, mailed to email, proves it
// (VerifyEmail). Until then the account keeps its address and sign-in
// alias, and email stays free for anyone to sign up with: an address
// nobody has verified takes nothing from its owner. It returns ErrExists
// when email is another account's address, ErrBadEmail when it is none,
// and "" when email is the account's own (dropping any pending change).
func (s *Store) ChangeEmail(ctx context.Context, sub, email string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return "", err
	}
	var secret string
	err = s.db.Update(func(tx *bbolt.Tx) error {
		r, err := getRecord(tx, sub)
		if err != nil {
			return err
		}
		if email == r.Email {
			if r.PendingEmail == "" {
				return nil
			}
			r.PendingEmail, r.Updated = "", s.now().UTC()
			if err := tx.Bucket(bucketCodes).Delete(codeKey(PurposeEmail, sub)); err != nil {
				return err
			}
			return putRecord(tx, r)
		}
		if tx.Bucket(bucketEmails).Get([]byte(email)) != nil {
			return ErrExists
		}
		r.PendingEmail, r.Updated = email, s.now().UTC()
		if secret, err = s.putCode(tx, r, PurposeEmail); err != nil {
			return err
		}
		return putRecord(tx, r)
	})
	if err != nil {
		return "", fmt.Errorf("change email of %s: %w", sub, err)
	}
	return secret, nil
}

// EmailCode issues a new code for verifying the account's pending address
// (see ChangeEmail) or, when it has none, its current one, and returns the
// code and the address to mail it to. When allow is not nil it is asked
// first, with the address, and its error returned, issuing nothing.
func (s *Store) EmailCode(ctx context.Context, sub string, allow func(address string) error) (secret, address string, err error) {
	if err := ctx.Err(); err != nil {
		return "", "", err
	}
	err = s.db.Update(func(tx *bbolt.Tx) error {
		r, err := getRecord(tx, sub)
		if err != nil {
			return err
		}
		address = r.Email
		if r.PendingEmail != "" {
			address = r.PendingEmail
		}
		if allow != nil {
			if err := allow(address); err != nil {
				return err
			}
		}
		secret, err = s.putCode(tx, r, PurposeEmail)
		return err
	})
	if err != nil {
		return "", "", fmt.Errorf("issue email code for %s: %w", sub, err)
	}
	return secret, address, nil
}

// VerifyEmail consumes the account's email code and, in the same
// transaction, makes the pending address (if any) the account's address
// and sign-in alias, verified. It returns ErrExists, changing nothing and
// keeping the code, when another account took the address meanwhile;
// otherwise its errors are useCode's.
func (s *Store) VerifyEmail(ctx context.Context, sub, secret string) (User, error) {
	var out User
	err := s.withCode(ctx, sub, PurposeEmail, secret, func(tx *bbolt.Tx, r *record) error {
		if r.PendingEmail != "" {
			emails := tx.Bucket(bucketEmails)
			if emails.Get([]byte(r.PendingEmail)) != nil {
				return ErrExists
			}
			if err := emails.Delete([]byte(r.Email)); err != nil {
				return err
			}
			if err := emails.Put([]byte(r.PendingEmail), []byte(r.Sub)); err != nil {
				return err
			}
			r.Email, r.PendingEmail = r.PendingEmail, ""
		}
		r.EmailVerified = true
		out = r.User
		return nil
	})
	if err != nil {
		return User{}, err
	}
	return out, nil
}

// ErrBadAttribute is wrapped by UpdateAttributes' errors for attributes
// that cannot take the value given.
var ErrBadAttribute = errors.New("invalid attribute")

// Delete removes an account, its codes and its email alias. The caller
// ends its sessions first (RevokeAll).
func (s *Store) Delete(ctx context.Context, sub string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		r, err := getRecord(tx, sub)
		if err != nil {
			return err
		}
		if err := deleteCodes(tx, sub); err != nil {
			return err
		}
		if err := tx.Bucket(bucketEmails).Delete([]byte(r.Email)); err != nil {
			return err
		}
		return tx.Bucket(bucketUsers).Delete([]byte(sub))
	})
	if err != nil {
		return fmt.Errorf("delete user %s: %w", sub, err)
	}
	return nil
}

// RevokeAll ends every refresh-token family of the account (and so every
// access token minted in them): after a password change or reset, a
// global sign-out, a disable or a deletion, nothing the account held before
// keeps working.
func (s *Store) RevokeAll(ctx context.Context, sub string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	needle := []byte(`"sub":"` + sub + `"`)
	err := s.tokens.Update(func(tx *bbolt.Tx) error {
		type family struct {
			jti     string
			expires time.Time
		}
		var fams []family
		err := tx.Bucket(bucketRefresh).ForEach(func(_, v []byte) error {
			if !bytes.Contains(v, needle) {
				return nil
			}
			var r Refresh
			if json.Unmarshal(v, &r) != nil || r.Sub != sub {
				return nil
			}
			fams = append(fams, family{r.OriginJTI, r.Expires})
			return nil
		})
		if err != nil {
			return err
		}
		for _, f := range fams {
			v, err := f.expires.UTC().MarshalText()
			if err != nil {
				return err
			}
			if err := tx.Bucket(bucketRevoked).Put([]byte(f.jti), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("revoke tokens of %s: %w", sub, err)
	}
	return nil
}

// Group is a user pool group.
type Group struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Precedence  *int32    `json:"precedence,omitempty"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

func ensureGroup(tx *bbolt.Tx, g Group) error {
	b := tx.Bucket(bucketGroups)
	if b.Get([]byte(g.Name)) != nil {
		return nil
	}
	g.Updated = g.Created
	v, err := json.Marshal(g)
	if err != nil {
		return err
	}
	return b.Put([]byte(g.Name), v)
}

// CreateGroup adds a group; it returns ErrExists when there is one by
// that name.
func (s *Store) CreateGroup(ctx context.Context, g Group) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g.Created = s.now().UTC()
	return s.db.Update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketGroups).Get([]byte(g.Name)) != nil {
			return ErrExists
		}
		return ensureGroup(tx, g)
	})
}

// Group returns the named group, or ErrNoGroup.
func (s *Store) Group(ctx context.Context, name string) (Group, error) {
	if err := ctx.Err(); err != nil {
		return Group{}, err
	}
	var g Group
	err := s.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketGroups).Get([]byte(name))
		if v == nil {
			return ErrNoGroup
		}
		return json.Unmarshal(v, &g)
	})
	return g, err
}

// Groups returns every group, by name.
func (s *Store) Groups(ctx context.Context) ([]Group, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var gs []Group
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketGroups).ForEach(func(_, v []byte) error {
			var g Group
			if err := json.Unmarshal(v, &g); err != nil {
				return err
			}
			gs = append(gs, g)
			return nil
		})
	})
	return gs, err
}

// SetGroup adds the account to the group (in is true) or removes it.
// It returns ErrNoGroup for a group that does not exist.
func (s *Store) SetGroup(ctx context.Context, sub, group string, in bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketGroups).Get([]byte(group)) == nil {
			return ErrNoGroup
		}
		r, err := getRecord(tx, sub)
		if err != nil {
			return err
		}
		has := slices.Contains(r.Groups, group)
		switch {
		case in && !has:
			r.Groups = append(r.Groups, group)
		case !in && has:
			r.Groups = slices.DeleteFunc(r.Groups, func(g string) bool { return g == group })
		default:
			return nil
		}
		r.Updated = s.now().UTC()
		return putRecord(tx, r)
	})
	if err != nil {
		return fmt.Errorf("set group %q of %s: %w", group, sub, err)
	}
	return nil
}
