package portal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// sealer encrypts and authenticates small values the portal leaves in the
// browser (sign-ins in progress, a flash message for a browser without a
// session) with AES-256-GCM under a key every instance shares, so that any
// instance can open what another sealed, and nobody else can read, forge
// or alter it. The cookie's name is the additional data: a value sealed
// for one cookie does not open as another.
type sealer struct {
	aead cipher.AEAD
}

// stateKeyInfo names what the derived key is for; changing it invalidates
// every sealed value, as a new client secret does.
const stateKeyInfo = "usersvc portal browser state v1"

// deriveStateKey derives the sealing key from the app client's secret with
// HKDF-SHA256, salted by the client id, so that deployments (or clients)
// with different secrets cannot open each other's cookies, and the secret
// itself is never used as a key.
func deriveStateKey(clientID, secret string) ([]byte, error) {
	return hkdf.Key(sha256.New, []byte(secret), []byte(clientID), stateKeyInfo, 32)
}

func newSealer(key []byte) (*sealer, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("state key: %d bytes, want at least 32", len(key))
	}
	// A key longer than AES's is folded into one through HKDF too.
	k, err := hkdf.Key(sha256.New, key, nil, stateKeyInfo+" aes", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

// seal returns v as JSON, encrypted for the cookie name, base64url.
func (s *sealer) seal(name string, v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("seal %s: %w", name, err)
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, []byte(name))), nil
}

var errUnsealable = errors.New("sealed value does not open")

// open decrypts a value sealed for the cookie name into v. Anything that
// was not sealed by this key for this name is errUnsealable.
func (s *sealer) open(name, value string, v any) error {
	// Strict: a value is accepted in one spelling only.
	raw, err := base64.RawURLEncoding.Strict().DecodeString(value)
	if err != nil || len(raw) < s.aead.NonceSize()+s.aead.Overhead() {
		return errUnsealable
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(name))
	if err != nil {
		return errUnsealable
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return errUnsealable
	}
	return nil
}
