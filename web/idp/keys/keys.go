// Package keys holds the identity provider's RSA signing keys: one key for
// ID tokens and another for access tokens (each with its own kid, as Cognito
// does), kept in one file with mode 0600, published as a JSON Web Key Set.
//
// Rotation replaces both active keys; a retired key stays in the key set (so
// relying parties can still verify what it signed) until every token it can
// have signed has expired.
package keys

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Use says which kind of token a key signs.
type Use string

// The two uses, one key each.
const (
	UseID     Use = "id"
	UseAccess Use = "access"
)

// Bits is the RSA modulus size of generated keys.
const Bits = 2048

// RetainAfterRotation is how long a retired key stays published: the longest
// lifetime Cognito allows an ID or access token (one day), plus clock skew.
const RetainAfterRotation = 24*time.Hour + 5*time.Minute

// key is one RSA key with what the set needs to know about it.
type key struct {
	kid     string
	use     Use
	priv    *rsa.PrivateKey
	created time.Time
	retired time.Time // zero while active
}

// Set is the provider's keys. It is safe for concurrent use.
type Set struct {
	path string
	now  func() time.Time

	mu     sync.RWMutex
	keys   []*key // active ones first, then retired ones
	active map[Use]*key
	jwks   []byte
}

// fileKey is how a key is stored on disk.
type fileKey struct {
	Kid     string    `json:"kid"`
	Use     Use       `json:"use"`
	Created time.Time `json:"created"`
	Retired time.Time `json:"retired,omitzero"`
	PEM     string    `json:"pem"` // PKCS #8
}

// Open loads the key set from path, generating and saving the keys a use is
// missing (so the first start creates them). An empty path keeps the keys in
// memory only. now is the clock (time.Now when nil).
func Open(path string, now func() time.Time) (*Set, error) {
	if now == nil {
		now = time.Now
	}
	s := &Set{path: path, now: now, active: map[Use]*key{}}
	if path != "" {
		if err := s.load(); err != nil {
			return nil, err
		}
	}
	changed := s.prune()
	for _, u := range []Use{UseID, UseAccess} {
		if s.active[u] != nil {
			continue
		}
		k, err := generate(u, now())
		if err != nil {
			return nil, err
		}
		s.keys = append([]*key{k}, s.keys...)
		s.active[u] = k
		changed = true
	}
	if changed {
		if err := s.save(); err != nil {
			return nil, err
		}
	}
	if err := s.publish(); err != nil {
		return nil, err
	}
	return s, nil
}

func generate(u Use, now time.Time) (*key, error) {
	priv, err := rsa.GenerateKey(rand.Reader, Bits)
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", u, err)
	}
	// The kid is the key's RFC 7638 thumbprint, so it changes with the key
	// and never needs a counter.
	return &key{kid: thumbprint(&priv.PublicKey), use: u, priv: priv, created: now.UTC()}, nil
}

func (s *Set) load() error {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read keys: %w", err)
	}
	var fks []fileKey
	if err := json.Unmarshal(b, &fks); err != nil {
		return fmt.Errorf("decode keys %s: %w", s.path, err)
	}
	for _, fk := range fks {
		block, _ := pem.Decode([]byte(fk.PEM))
		if block == nil {
			return fmt.Errorf("decode key %s in %s: no PEM block", fk.Kid, s.path)
		}
		p, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return fmt.Errorf("parse key %s in %s: %w", fk.Kid, s.path, err)
		}
		priv, ok := p.(*rsa.PrivateKey)
		if !ok || priv.N.BitLen() < Bits {
			return fmt.Errorf("key %s in %s: not an RSA key of %d bits or more", fk.Kid, s.path, Bits)
		}
		if fk.Use != UseID && fk.Use != UseAccess {
			return fmt.Errorf("key %s in %s: unknown use %q", fk.Kid, s.path, fk.Use)
		}
		k := &key{kid: fk.Kid, use: fk.Use, priv: priv, created: fk.Created, retired: fk.Retired}
		s.keys = append(s.keys, k)
		if k.retired.IsZero() && s.active[k.use] == nil {
			s.active[k.use] = k
		}
	}
	return nil
}

// save writes the set atomically (temporary file, then rename) with mode 0600.
func (s *Set) save() error {
	if s.path == "" {
		return nil
	}
	fks := make([]fileKey, 0, len(s.keys))
	for _, k := range s.keys {
		der, err := x509.MarshalPKCS8PrivateKey(k.priv)
		if err != nil {
			return fmt.Errorf("encode key %s: %w", k.kid, err)
		}
		fks = append(fks, fileKey{
			Kid: k.kid, Use: k.use, Created: k.created, Retired: k.retired,
			PEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		})
	}
	b, err := json.MarshalIndent(fks, "", "  ")
	if err != nil {
		return fmt.Errorf("encode keys: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("save keys: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".keys-*")
	if err != nil {
		return fmt.Errorf("save keys: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("save keys: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("save keys: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save keys: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save keys: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("save keys: %w", err)
	}
	return nil
}

// prune drops retired keys whose tokens have all expired and reports
// whether it dropped any.
func (s *Set) prune() bool {
	now := s.now()
	kept := s.keys[:0]
	for _, k := range s.keys {
		if !k.retired.IsZero() && now.Sub(k.retired) > RetainAfterRotation {
			continue
		}
		kept = append(kept, k)
	}
	changed := len(kept) != len(s.keys)
	s.keys = kept
	return changed
}

// Rotate retires both active keys and generates new ones. The retired keys
// stay in the JWKS for RetainAfterRotation.
func (s *Set) Rotate() error {
	now := s.now().UTC()
	fresh := make(map[Use]*key, 2)
	for _, u := range []Use{UseID, UseAccess} {
		k, err := generate(u, now)
		if err != nil {
			return err
		}
		fresh[u] = k
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.keys {
		if k.retired.IsZero() {
			k.retired = now
		}
	}
	s.keys = append([]*key{fresh[UseID], fresh[UseAccess]}, s.keys...)
	s.active = fresh
	s.prune()
	if err := s.save(); err != nil {
		return err
	}
	return s.publish()
}

// Signer is an active key as a token signer needs it.
type Signer struct {
	KeyID string
	Key   *rsa.PrivateKey
}

// Sign returns the RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature of msg.
func (sg Signer) Sign(msg []byte) ([]byte, error) {
	h := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(nil, sg.Key, crypto.SHA256, h[:])
	if err != nil {
		return nil, fmt.Errorf("sign with key %s: %w", sg.KeyID, err)
	}
	return sig, nil
}

// Active returns the key that currently signs tokens of use u.
func (s *Set) Active(u Use) Signer {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k := s.active[u]
	return Signer{KeyID: k.kid, Key: k.priv}
}

// PublicKey returns the public key with the given kid and the use it signs,
// active or retired; ok is false when the set does not hold it (or no longer
// does).
func (s *Set) PublicKey(kid string) (pub *rsa.PublicKey, u Use, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, k := range s.keys {
		if k.kid == kid {
			return &k.priv.PublicKey, k.use, true
		}
	}
	return nil, "", false
}

// JWKS returns the public keys as an RFC 7517 JSON Web Key Set in the shape
// Cognito publishes ({"keys":[{"alg","e","kid","kty","n","use"}]}). The
// slice is shared: callers must not modify it.
func (s *Set) JWKS() []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.jwks
}

type jwk struct {
	Alg string `json:"alg"`
	E   string `json:"e"`
	Kid string `json:"kid"`
	Kty string `json:"kty"`
	N   string `json:"n"`
	Use string `json:"use"`
}

// publish renders the JWKS once per change, so serving it costs nothing.
// The caller holds the write lock or owns s exclusively.
func (s *Set) publish() error {
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(s.keys))}
	for _, k := range s.keys {
		n, e := pubParams(&k.priv.PublicKey)
		set.Keys = append(set.Keys, jwk{Alg: "RS256", E: e, Kid: k.kid, Kty: "RSA", N: n, Use: "sig"})
	}
	b, err := json.Marshal(set)
	if err != nil {
		return fmt.Errorf("encode jwks: %w", err)
	}
	s.jwks = b
	return nil
}

func pubParams(pub *rsa.PublicKey) (n, e string) {
	enc := base64.RawURLEncoding
	return enc.EncodeToString(pub.N.Bytes()), enc.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
}

// thumbprint is the RFC 7638 SHA-256 thumbprint of an RSA public key: the
// hash of its required members in lexicographic order, no white space.
func thumbprint(pub *rsa.PublicKey) string {
	n, e := pubParams(pub)
	h := sha256.Sum256([]byte(`{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`))
	return base64.RawURLEncoding.EncodeToString(h[:])
}
