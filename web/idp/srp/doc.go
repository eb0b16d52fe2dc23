// Package srp is the server side of Amazon Cognito's Secure Remote Password
// sign-in (InitiateAuth USER_SRP_AUTH, then RespondToAuthChallenge
// PASSWORD_VERIFIER), computed exactly as Cognito's client libraries
// (amazon-cognito-identity-js, Amplify, the mobile SDKs) compute their side,
// so they sign in unchanged.
//
// # Protocol
//
// SRP-6a over the 3072-bit group of RFC 5054 with g = 2 and SHA-256 (H).
// PAD(n) below is the clients' encoding of a number: its shortest
// big-endian two's-complement bytes (a 0x00 leads when the top bit is set;
// zero is one 0x00 byte). Every hash of a number uses it.
//
//	poolName  the part of the user pool id after "_" (us-east-1_AbC -> AbC)
//	userID    USER_ID_FOR_SRP (Cognito sends the user name)
//	k         H(PAD(N) | PAD(g))
//	x         H(PAD(salt) | H(poolName | userID | ":" | password))
//	v         g^x mod N                    (kept per account, with the salt)
//	B         k*v + g^b mod N              (b: 256 random bits)
//	u         H(PAD(A) | PAD(B))
//	S         (A * v^u)^b mod N
//	key       HKDF-SHA256(secret PAD(S), salt PAD(u), info "Caldera Derived Key"), 16 bytes
//	signature base64(HMAC-SHA256(key, poolName | userID | SECRET_BLOCK (decoded) | TIMESTAMP))
//
// SRP_B and SALT go out as lower-case hex of PAD(B) and PAD(salt); SRP_A is
// read as hex of either case. TIMESTAMP is "Tue Mar 3 09:05:07 UTC 2026"
// (TimestampLayout: English, UTC, day not zero-padded). Verify signs the
// timestamp rewritten in that layout, as Cognito does, so a client that
// zero-pads the day or names the wrong weekday fails as with a wrong
// password; one that cannot be parsed is ErrTimestamp. The timestamp is not
// compared with the server's clock: the secret block's expiry bounds the
// exchange.
//
// # Use
//
// Whenever a password is set (sign-up, reset, change, admin), keep what
// NewVerifier returns instead of the password:
//
//	salt, verifier, err := srp.NewVerifier(poolName, username, password)
//
// Build one Server per process with a stable secret key:
//
//	s, err := srp.NewServer(key, srp.Options{Now: now, TTL: 3 * time.Minute})
//
// InitiateAuth USER_SRP_AUTH with USERNAME and SRP_A:
//
//	ch, err := s.Challenge(poolName, username, binding, salt, verifier, srpA)
//	// ChallengeName PASSWORD_VERIFIER, ChallengeParameters:
//	// USER_ID_FOR_SRP ch.UserIDForSRP, SRP_B ch.SRPB, SALT ch.Salt,
//	// SECRET_BLOCK ch.SecretBlock
//
// binding is whatever the answer must be tied to besides the account: the
// app client the challenge was asked for, and whether through the admin
// flow. It is sealed into the secret block, so an answer sent with another
// (a PASSWORD_VERIFIER answered on a client that does not allow SRP) fails
// as another user's block does.
//
// For an unknown user in a pool with PreventUserExistenceErrors, use
// s.FakeVerifier(poolName, username) as salt and verifier: the challenge
// looks and costs the same, and Verify then fails with ErrBadSignature.
//
// RespondToAuthChallenge PASSWORD_VERIFIER with USERNAME,
// PASSWORD_CLAIM_SECRET_BLOCK, TIMESTAMP, PASSWORD_CLAIM_SIGNATURE:
//
//	err := s.Verify(poolName, username, binding, verifier,
//		secretBlock, timestamp, signature)
//
// # Errors and the Cognito answer for each
//
//	ErrMalformed     InvalidParameterException (a bad SRP_A, or a secret block that is not base64)
//	ErrTimestamp     InvalidParameterException "TIMESTAMP format should be EEE MMM d HH:mm:ss z yyyy in english."
//	ErrSecretBlock   NotAuthorizedException "Incorrect username or password."
//	ErrBadSignature  NotAuthorizedException "Incorrect username or password." (count it for lockout)
//	ErrExpired       NotAuthorizedException "Invalid session for the user, session is expired."
//	ErrReplayed      NotAuthorizedException "Invalid session for the user, session can only be used once."
//	ErrBusy          TooManyRequestsException
//
// Any other error is about the stored salt or verifier, not the client's
// input: an internal error.
//
// # Secret blocks
//
// SECRET_BLOCK is sealed with AES-256-GCM: it carries b, u, A mod N and the
// expiry, bound (as associated data) to the pool name, user id and
// binding, so a block of another user, pool or binding does not open. It expires after
// Options.TTL (Cognito's default AuthSessionValidity, 3 minutes) and is
// single-use: the first Verify that opens it, right or wrong, spends it,
// and a replay set remembers it until it expires (at most
// Options.MaxPending of them). The sealing key is drawn when the Server is
// made, so blocks do not outlive the process (nor cross processes): a
// restart cannot forget a spent block that would still be good.
//
// # Timing
//
// The exponentiations and products with secrets (b, the verifier, x) use
// filippo.io/bigmod, which is constant-time; math/big, which is not (its
// Exp's running time depends on the operands' values), only touches public
// values: A, B, u and N. The signature is compared with hmac.Equal. What is
// left varies with public lengths only (PAD of S or u drops leading zero
// bytes, as the clients do). A Challenge for an unknown user costs the same
// as for a known one: FakeVerifier derives its verifier with HMAC, without
// an exponentiation.
package srp
