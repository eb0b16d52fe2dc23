package srp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"time"

	"filippo.io/bigmod"
)

// Sizes of what NewVerifier returns and the account store keeps.
const (
	SaltSize     = 16
	VerifierSize = nSize
)

// DefaultTTL is how long a SECRET_BLOCK stays good: Cognito's default
// AuthSessionValidity of an app client (3 minutes; Cognito allows 3 to 15).
const DefaultTTL = 3 * time.Minute

// DefaultMaxPending bounds the replay set (see Options.MaxPending).
const DefaultMaxPending = 1 << 17

// TimestampLayout is the TIMESTAMP the clients send, in Go's notation:
// English names, UTC, the day of the month not zero-padded
// ("Tue Mar 3 09:05:07 UTC 2026"), as amazon-cognito-identity-js's
// DateHelper and Cognito's "EEE MMM d HH:mm:ss z yyyy" have it.
const TimestampLayout = "Mon Jan 2 15:04:05 UTC 2006"

// maxAHex bounds SRP_A before any arithmetic: N is 768 hex digits, and a
// client may pad it, but nothing honest is longer than this.
const maxAHex = 1024

// The errors Verify and Challenge report, each wrapped with the field it is
// about; test them with errors.Is. The Cognito answer the API gives for
// each is in the package doc.
var (
	// ErrMalformed: SRP_A, SECRET_BLOCK or PASSWORD_CLAIM_SIGNATURE is not
	// what a client sends (not hex or base64, out of range, A mod N = 0).
	ErrMalformed = errors.New("srp: malformed parameter")
	// ErrTimestamp: TIMESTAMP does not parse in TimestampLayout.
	ErrTimestamp = errors.New("srp: TIMESTAMP not in the format EEE MMM d HH:mm:ss z yyyy")
	// ErrSecretBlock: the secret block was not issued by this Server for
	// this pool, user and binding (forged, altered, another user's, pool's
	// or binding's, or issued before the process restarted).
	ErrSecretBlock = errors.New("srp: secret block not issued for this user")
	// ErrExpired: the secret block is older than Options.TTL.
	ErrExpired = errors.New("srp: secret block expired")
	// ErrReplayed: the secret block was already presented once.
	ErrReplayed = errors.New("srp: secret block already used")
	// ErrBadSignature: the claim does not match: a wrong password (or a
	// client that signed something else).
	ErrBadSignature = errors.New("srp: password claim signature does not match")
	// ErrBusy: more unexpired secret blocks are in use than
	// Options.MaxPending; nothing was checked.
	ErrBusy = errors.New("srp: too many sign-ins in progress")
)

// NewVerifier makes what an account keeps for SRP whenever its password is
// set: a fresh random salt and the verifier v = g^x mod N (fixed
// VerifierSize bytes, big-endian), never the password. poolName is the part
// of the pool id after "_"; userID is what the challenge will send as
// USER_ID_FOR_SRP (Cognito sends the user name). Both are bound into the
// verifier: a different pool name or user id needs a new password.
func NewVerifier(poolName, userID, password string) (salt, verifier []byte, err error) {
	salt = make([]byte, SaltSize)
	rand.Read(salt) // never fails (crypto/rand)
	shapeSalt(salt)
	return salt, computeVerifier(poolName, userID, password, salt), nil
}

// shapeSalt keeps the salt's first byte in 0x01..0x7f, so its hex is also
// its padded form: clients that hash the hex string as it comes and clients
// that parse it as a number first then agree on x.
func shapeSalt(salt []byte) {
	salt[0] = salt[0]&0x7f | 0x01
}

func computeVerifier(poolName, userID, password string, salt []byte) []byte {
	x := passwordExponent(poolName, userID, password, salt)
	g, _ := natOf([]byte{2})
	return bigmod.NewNat().Exp(g, x, modN).Bytes(modN)
}

// Options tune a Server. The zero value is Cognito's behaviour.
type Options struct {
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// TTL is how long a SECRET_BLOCK may be answered (DefaultTTL when 0).
	TTL time.Duration
	// MaxPending bounds the memory of the replay set: at most this many
	// unexpired, used secret blocks are remembered (DefaultMaxPending when
	// 0, about 60 bytes each). Past it Verify answers ErrBusy rather than
	// forget one early, which would let it be replayed.
	MaxPending int
}

// Server is the server side of Cognito's USER_SRP_AUTH: Challenge answers
// InitiateAuth, Verify checks RespondToAuthChallenge's PASSWORD_VERIFIER.
// It is safe for concurrent use.
type Server struct {
	seal    cipher.AEAD // per process: see NewServer
	fakeKey []byte
	now     func() time.Time
	ttl     time.Duration
	used    *replaySet
}

// NewServer returns a Server. key (at least 16 bytes, kept secret and
// stable across restarts) derives the salts and verifiers FakeVerifier gives
// unknown users, so that they stay the same from one start to the next as a
// real account's do. Secret blocks are sealed (AES-256-GCM) under a key
// drawn at random here, not from key: a block is then good only in the
// process that issued it, which is what lets the in-memory replay set make
// it single-use; a client caught by a restart signs in again.
func NewServer(key []byte, opts Options) (*Server, error) {
	if len(key) < 16 {
		return nil, fmt.Errorf("srp: server key is %d bytes, need at least 16", len(key))
	}
	sealKey := make([]byte, 32)
	rand.Read(sealKey)
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, fmt.Errorf("srp: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("srp: %w", err)
	}
	fakeKey, err := hkdf.Key(sha256.New, key, nil, "usersvc srp fake verifier", 32)
	if err != nil {
		return nil, fmt.Errorf("srp: %w", err)
	}
	s := &Server{seal: aead, fakeKey: fakeKey, now: opts.Now, ttl: opts.TTL}
	if s.now == nil {
		s.now = time.Now
	}
	if s.ttl <= 0 {
		s.ttl = DefaultTTL
	}
	maxPending := opts.MaxPending
	if maxPending <= 0 {
		maxPending = DefaultMaxPending
	}
	s.used = newReplaySet(maxPending, int64(s.ttl/2))
	return s, nil
}

// Challenge is the PASSWORD_VERIFIER challenge's parameters, as
// InitiateAuth returns them in ChallengeParameters.
type Challenge struct {
	UserIDForSRP string // USER_ID_FOR_SRP: the userID given to Challenge
	SRPB         string // SRP_B: B in hex
	Salt         string // SALT: the salt in hex
	SecretBlock  string // SECRET_BLOCK: opaque, base64
}

// Challenge answers InitiateAuth's USER_SRP_AUTH for the account whose salt
// and verifier were made by NewVerifier (or FakeVerifier) for poolName and
// userID. binding is what else the answer must come with (for Cognito's
// API, the app client and whether the flow was the admin one): it is sealed
// into the secret block, not sent, and Verify must be given the same. srpA
// is the client's SRP_A in hex. It fails with ErrMalformed when srpA is not
// hex or A mod N = 0; any other error is about salt or verifier (the
// store's, not the client's).
func (s *Server) Challenge(poolName, userID, binding string, salt, verifier []byte, srpA string) (Challenge, error) {
	a, err := parseA(srpA)
	if err != nil {
		return Challenge{}, err
	}
	if len(salt) == 0 {
		return Challenge{}, errors.New("srp: empty salt")
	}
	v, err := parseVerifier(verifier)
	if err != nil {
		return Challenge{}, err
	}
	aMod := new(big.Int).Mod(a, groupN)
	g, _ := natOf([]byte{2})

	b := make([]byte, 32)
	var bigB *big.Int
	var u []byte
	for {
		// A 256-bit b, as the clients' 1024-bit a, is far beyond what the
		// discrete logarithm in this group yields to, and keeps both
		// exponentiations with b short.
		rand.Read(b)
		// B = k*v + g^b mod N
		kv, _ := natOf(padTo(groupK.Bytes(), nSize))
		kv.Mul(v, modN)
		kv.Add(bigmod.NewNat().Exp(g, b, modN), modN)
		bigB = new(big.Int).SetBytes(kv.Bytes(modN))
		u = scrambler(a, bigB)
		// Clients refuse B = 0 mod N and u = 0; neither happens but by a
		// chance of 2^-256, and a fresh b avoids both.
		if bigB.Sign() != 0 && new(big.Int).SetBytes(u).Sign() != 0 {
			break
		}
	}

	expires := s.now().Add(s.ttl)
	plain := make([]byte, 0, blockPlainSize)
	plain = append(plain, blockVersion)
	plain = binary.BigEndian.AppendUint64(plain, uint64(expires.UnixNano()))
	plain = append(plain, b...)
	plain = append(plain, u...)
	plain = append(plain, padTo(aMod.Bytes(), nSize)...)

	nonce := make([]byte, s.seal.NonceSize())
	rand.Read(nonce)
	sealed := s.seal.Seal(nonce, nonce, plain, blockAAD(poolName, userID, binding))

	return Challenge{
		UserIDForSRP: userID,
		SRPB:         hex.EncodeToString(padded(bigB)),
		Salt:         hex.EncodeToString(padded(new(big.Int).SetBytes(salt))),
		SecretBlock:  base64.StdEncoding.EncodeToString(sealed),
	}, nil
}

// Layout of a secret block's plaintext: version, expiry (Unix ns), b, u,
// A mod N.
const (
	blockVersion   = 1
	blockPlainSize = 1 + 8 + 32 + 32 + nSize
	// maxBlockBase64 is well above any block this package issues (about
	// 650 characters), and keeps a huge one from being decoded at all.
	maxBlockBase64 = 2048
)

// blockAAD binds a secret block to its pool, user and binding without
// carrying them: opening it for any other fails. Each is length-prefixed,
// so no byte can move from one to the next.
func blockAAD(poolName, userID, binding string) []byte {
	aad := accountID(poolName, userID)
	aad = binary.BigEndian.AppendUint32(aad, uint32(len(binding)))
	return append(aad, binding...)
}

// accountID names an account of a pool unambiguously; FakeVerifier derives
// from it, so it must not change (unknown users' salts would).
func accountID(poolName, userID string) []byte {
	aad := []byte("usersvc srp secret block v1")
	aad = binary.BigEndian.AppendUint32(aad, uint32(len(poolName)))
	aad = append(aad, poolName...)
	aad = binary.BigEndian.AppendUint32(aad, uint32(len(userID)))
	return append(aad, userID...)
}

// Verify checks RespondToAuthChallenge's PASSWORD_VERIFIER answer:
// secretBlock is PASSWORD_CLAIM_SECRET_BLOCK, timestamp TIMESTAMP and
// signature PASSWORD_CLAIM_SIGNATURE, for the account (poolName, userID,
// verifier) and binding that Challenge was called for (another binding is
// ErrSecretBlock, as another user's block is). nil means the client knows the
// password. A secret block is used up by its first Verify that gets as far
// as the signature, right or wrong. The errors wrap the package's
// sentinels (ErrMalformed, ErrTimestamp, ErrSecretBlock, ErrExpired,
// ErrReplayed, ErrBadSignature, ErrBusy); any other is about the verifier.
func (s *Server) Verify(poolName, userID, binding string, verifier []byte, secretBlock, timestamp, signature string) error {
	if len(secretBlock) > maxBlockBase64 {
		return fmt.Errorf("PASSWORD_CLAIM_SECRET_BLOCK: %d characters: %w", len(secretBlock), ErrSecretBlock)
	}
	sealed, err := base64.StdEncoding.Strict().DecodeString(secretBlock)
	if err != nil {
		return fmt.Errorf("PASSWORD_CLAIM_SECRET_BLOCK: not base64: %w", ErrMalformed)
	}
	when, err := time.Parse(TimestampLayout, timestamp)
	if err != nil {
		return fmt.Errorf("TIMESTAMP %q: %w", timestamp, ErrTimestamp)
	}
	ns := s.seal.NonceSize()
	if len(sealed) < ns {
		return fmt.Errorf("PASSWORD_CLAIM_SECRET_BLOCK: %w", ErrSecretBlock)
	}
	plain, err := s.seal.Open(nil, sealed[:ns], sealed[ns:], blockAAD(poolName, userID, binding))
	if err != nil || len(plain) != blockPlainSize || plain[0] != blockVersion {
		return fmt.Errorf("PASSWORD_CLAIM_SECRET_BLOCK: %w", ErrSecretBlock)
	}
	expires := int64(binary.BigEndian.Uint64(plain[1:9]))
	b, u, aMod := plain[9:41], plain[41:73], plain[73:]
	now := s.now()
	if now.UnixNano() >= expires {
		return fmt.Errorf("PASSWORD_CLAIM_SECRET_BLOCK: %w", ErrExpired)
	}
	if err := s.used.add([12]byte(sealed[:ns]), expires, now.UnixNano()); err != nil {
		return fmt.Errorf("PASSWORD_CLAIM_SECRET_BLOCK: %w", err)
	}

	v, err := parseVerifier(verifier)
	if err != nil {
		return err
	}
	key := s.key(v, b, u, aMod)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(poolName))
	mac.Write([]byte(userID))
	mac.Write(sealed)
	// The client signed the TIMESTAMP it sent; Cognito checks the
	// signature over the timestamp written its own way, so a zero-padded
	// day or a wrong weekday fails like a wrong password, as it does there.
	mac.Write([]byte(when.UTC().Format(TimestampLayout)))
	want := mac.Sum(nil)

	got, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		got = nil // compared all the same, so it costs what a wrong one does
	}
	if !hmac.Equal(got, want) {
		return fmt.Errorf("PASSWORD_CLAIM_SIGNATURE: %w", ErrBadSignature)
	}
	return nil
}

// key is the 16-byte key the client signs with: S = (A * v^u)^b mod N,
// then HKDF-SHA256 with PAD(S) as the secret, PAD(u) as the salt and
// "Caldera Derived Key" as the info.
func (s *Server) key(v *bigmod.Nat, b, u, aMod []byte) []byte {
	base, _ := natOf(aMod) // below N: Challenge reduced it
	base.Mul(bigmod.NewNat().Exp(v, u, modN), modN)
	sNat := bigmod.NewNat().Exp(base, b, modN)
	secret := padded(new(big.Int).SetBytes(sNat.Bytes(modN)))
	k, err := hkdf.Key(sha256.New, secret, padded(new(big.Int).SetBytes(u)), "Caldera Derived Key", 16)
	if err != nil {
		panic("srp: hkdf: " + err.Error()) // only for lengths out of range
	}
	return k
}

// FakeVerifier is a salt and verifier for a user that does not exist, for
// pools with PreventUserExistenceErrors: the same (poolName, userID) always
// gets the same salt, as a real account does, and Challenge with them costs
// and looks the same as for a real one. No password matches it, so Verify
// then fails with ErrBadSignature, as for a wrong password.
func (s *Server) FakeVerifier(poolName, userID string) (salt, verifier []byte) {
	derive := func(label string, n int) []byte {
		out := make([]byte, 0, n)
		for ctr := byte(0); len(out) < n; ctr++ {
			m := hmac.New(sha256.New, s.fakeKey)
			m.Write([]byte{ctr})
			m.Write(accountID(poolName, userID))
			m.Write([]byte(label))
			out = m.Sum(out)
		}
		return out[:n]
	}
	salt = derive("salt", SaltSize)
	shapeSalt(salt)
	// A verifier is never sent, only B = k*v + g^b is, and a number
	// reduced mod N makes a B no one can tell from a real one. It costs no
	// exponentiation, so an unknown user answers as fast as a known one.
	v := new(big.Int).SetBytes(derive("verifier", nSize+32))
	v.Mod(v, groupN)
	if v.Sign() == 0 {
		v.SetInt64(1)
	}
	return salt, padTo(v.Bytes(), nSize)
}

// parseA reads SRP_A: hex of either case, of any even or odd length up to
// maxAHex digits, and not a multiple of N.
func parseA(srpA string) (*big.Int, error) {
	if srpA == "" || len(srpA) > maxAHex {
		return nil, fmt.Errorf("SRP_A: %d hex digits: %w", len(srpA), ErrMalformed)
	}
	if len(srpA)%2 == 1 {
		srpA = "0" + srpA
	}
	raw, err := hex.DecodeString(srpA)
	if err != nil {
		return nil, fmt.Errorf("SRP_A: not hex: %w", ErrMalformed)
	}
	a := new(big.Int).SetBytes(raw)
	if new(big.Int).Mod(a, groupN).Sign() == 0 {
		return nil, fmt.Errorf("SRP_A: A mod N is 0: %w", ErrMalformed)
	}
	return a, nil
}

func parseVerifier(verifier []byte) (*bigmod.Nat, error) {
	if len(verifier) != VerifierSize {
		return nil, fmt.Errorf("srp: verifier is %d bytes, want %d", len(verifier), VerifierSize)
	}
	v, err := natOf(verifier)
	if err != nil || v.IsZero() == 1 {
		return nil, errors.New("srp: verifier out of range")
	}
	return v, nil
}

// padTo left-pads b with zeros to n bytes (b is never longer).
func padTo(b []byte, n int) []byte {
	if len(b) >= n {
		return b
	}
	out := make([]byte, n)
	copy(out[n-len(b):], b)
	return out
}
