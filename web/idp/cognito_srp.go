package idp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	"github.com/usersvc/usersvc/web/idp/srp"
	"github.com/usersvc/usersvc/web/idp/users"
)

// USER_SRP_AUTH and its PASSWORD_VERIFIER challenge, on package srp. The
// secret block srp seals carries the exchange's state, so no challenge is
// held here; srp makes it expiring and single-use.

// srpState is unused: package srp keeps the exchange in the sealed block.
type srpState struct{}

// poolName is the part of the pool id after "_", as SRP hashes it.
func (s *Server) poolName() string {
	_, name, _ := strings.Cut(s.poolID, "_")
	return name
}

// userOptions make the account store keep an SRP verifier next to every
// password it sets, for USER_ID_FOR_SRP = the username (the sub).
func (s *Server) userOptions() []users.Option {
	pool := s.poolName()
	return []users.Option{users.WithVerifier(func(username, password string) ([]byte, []byte, error) {
		return srp.NewVerifier(pool, username, password)
	})}
}

// fakeUserID is the USER_ID_FOR_SRP of a name without an account: shaped
// like a real one (a UUID) and the same every time for the same name.
func (s *Server) fakeUserID(name string) string {
	m := hmac.New(sha256.New, s.srpKey)
	m.Write([]byte("srp fake user id\x00" + strings.ToLower(strings.TrimSpace(name))))
	b := m.Sum(nil)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// srpVerifier returns the account's user id, salt and verifier for SRP,
// or a fake triple (the same each time) for a name without an account or
// an account without a verifier yet.
func (s *Server) srpVerifier(ctx context.Context, name string) (userID string, salt, verifier []byte, u users.User, found bool, err error) {
	u, err = s.users.Lookup(ctx, name)
	if err == nil {
		salt, verifier, err = s.users.SRPVerifier(ctx, u.Sub)
		if err == nil {
			return u.Sub, salt, verifier, u, true, nil
		}
		if !errors.Is(err, users.ErrNotFound) {
			return "", nil, nil, u, false, err
		}
		// No verifier yet (a password set before SRP existed): like a
		// wrong password until the password next changes.
		salt, verifier = s.srp.FakeVerifier(s.poolName(), u.Sub)
		return u.Sub, salt, verifier, u, false, nil
	}
	if !errors.Is(err, users.ErrNotFound) {
		return "", nil, nil, u, false, err
	}
	id := name
	if !isUUID(name) {
		id = s.fakeUserID(name)
	}
	salt, verifier = s.srp.FakeVerifier(s.poolName(), id)
	return id, salt, verifier, users.User{}, false, nil
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if r != '-' {
				return false
			}
		} else if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// startSRP is InitiateAuth USER_SRP_AUTH (admin: AdminInitiateAuth): the
// PASSWORD_VERIFIER challenge.
func (s *Server) startSRP(ctx context.Context, c *client, p map[string]string, admin bool) (any, error) {
	name := p["USERNAME"]
	if err := required("USERNAME", name); err != nil {
		return nil, err
	}
	if err := required("SRP_A", p["SRP_A"]); err != nil {
		return nil, err
	}
	if err := checkSecretHash(c, p["SECRET_HASH"], name); err != nil {
		return nil, err
	}
	userID, salt, verifier, u, found, err := s.srpVerifier(ctx, name)
	if err != nil {
		return nil, err
	}
	// Locked under the account's own key, however it was named (its sub
	// or its email), as finishSRP counts it.
	lk := lockoutKey(name)
	if u.Email != "" {
		lk = lockoutKey(u.Email)
	}
	if locked, _ := s.lockout.lockedFrom(lk, clientOf(ctx)); locked {
		return nil, apiErr(excNotAuthorized, "Password attempts exceeded")
	}
	if !found && !c.preventsExistenceErrors() {
		if _, err := s.users.Lookup(ctx, name); errors.Is(err, users.ErrNotFound) {
			return nil, apiErr(excUserNotFound, "User does not exist.")
		}
	}
	ch, err := s.srp.Challenge(s.poolName(), userID, srpBinding(c, admin), salt, verifier, p["SRP_A"])
	if err != nil {
		return nil, srpError(err)
	}
	return signInResult{ChallengeName: "PASSWORD_VERIFIER", ChallengeParameters: map[string]string{
		"USER_ID_FOR_SRP": ch.UserIDForSRP, "USERNAME": ch.UserIDForSRP,
		"SRP_B": ch.SRPB, "SALT": ch.Salt, "SECRET_BLOCK": ch.SecretBlock,
	}}, nil
}

// srpBinding is what a secret block is tied to besides the account: the
// app client it was issued for and whether through the admin operations.
// Without it a challenge started on a client that allows SRP could be
// answered on one that allows no API flow, and get that client's tokens.
func srpBinding(c *client, admin bool) string {
	return fmt.Sprintf("client_id=%s\x00admin=%t", c.ClientId, admin)
}

// finishSRP is RespondToAuthChallenge PASSWORD_VERIFIER.
func (s *Server) finishSRP(ctx context.Context, c *client, r map[string]string, admin bool) (any, error) {
	// As InitiateAuth refuses to start SRP on such a client, its answer is
	// refused too; the secret block's binding makes it so for a block of
	// another client even if this one allows SRP.
	if !c.allows(FlowUserSRP) {
		return nil, apiErr(excInvalidParameter, "USER_SRP_AUTH flow not enabled for this client")
	}
	for _, n := range []string{"PASSWORD_CLAIM_SECRET_BLOCK", "PASSWORD_CLAIM_SIGNATURE", "TIMESTAMP"} {
		if err := required("ChallengeResponses."+n, r[n]); err != nil {
			return nil, err
		}
	}
	name := r["USERNAME"]
	userID, _, verifier, u, found, err := s.srpVerifier(ctx, name)
	if err != nil {
		return nil, err
	}
	lk := lockoutKey(name)
	if u.Email != "" { // the account's own key, as startSRP checks it
		lk = lockoutKey(u.Email)
	}
	if ok, _ := s.lockout.beginFrom(lk, clientOf(ctx)); !ok {
		return nil, apiErr(excNotAuthorized, "Password attempts exceeded")
	}
	err = s.srp.Verify(s.poolName(), userID, srpBinding(c, admin), verifier, r["PASSWORD_CLAIM_SECRET_BLOCK"], r["TIMESTAMP"], r["PASSWORD_CLAIM_SIGNATURE"])
	if err == nil && !found {
		err = srp.ErrBadSignature
	}
	if err != nil {
		if errors.Is(err, srp.ErrBadSignature) {
			if locked, _ := s.lockout.lockedFrom(lk, clientOf(ctx)); locked {
				return nil, apiErr(excNotAuthorized, "Password attempts exceeded")
			}
		}
		return nil, srpError(err)
	}
	s.lockout.succeedFrom(lk, clientOf(ctx))
	return s.signedIn(ctx, c, u, admin)
}

// srpError maps package srp's errors to Cognito's answers.
func srpError(err error) error {
	switch {
	case errors.Is(err, srp.ErrMalformed):
		return apiErr(excInvalidParameter, "Invalid SRP parameter.")
	case errors.Is(err, srp.ErrTimestamp):
		return apiErr(excInvalidParameter, "TIMESTAMP format should be EEE MMM d HH:mm:ss z yyyy in english.")
	case errors.Is(err, srp.ErrSecretBlock), errors.Is(err, srp.ErrBadSignature):
		return apiErr(excNotAuthorized, "Incorrect username or password.")
	case errors.Is(err, srp.ErrExpired):
		return apiErr(excNotAuthorized, "Invalid session for the user, session is expired.")
	case errors.Is(err, srp.ErrReplayed):
		return apiErr(excNotAuthorized, "Invalid session for the user, session can only be used once.")
	case errors.Is(err, srp.ErrBusy):
		return apiErr(excTooManyRequests, "Too many sign-ins in progress; try again shortly.")
	}
	return err
}
