package idp

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/usersvc/usersvc/web/idp/sigv4"
	"github.com/usersvc/usersvc/web/idp/srp"
)

// The provider's own secrets for the JSON API: the AWS key pair its admin
// operations are signed with, and the key behind SRP's answers for
// unknown users. Both are kept under the data directory, mode 0600.

// Credentials returns the access key id and secret access key the admin
// operations of the JSON API must be signed with (SigV4, service
// cognito-idp, any region), for printing as AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY.
func (s *Server) Credentials() (accessKeyID, secretAccessKey string) {
	return s.accessKeyID, s.secretAccessKey
}

// Endpoint returns the URL of the JSON API (the provider's origin), for
// AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER or aws --endpoint-url.
func (s *Server) Endpoint() string { return s.origin }

// loadCredentials sets the key pair (see Config.AccessKeyID) and the SRP
// server.
func (s *Server) loadCredentials(cfg Config, dir string) error {
	s.accessKeyID = cfg.AccessKeyID
	if s.accessKeyID == "" {
		s.accessKeyID = DefaultAccessKeyID
	}
	s.secretAccessKey = cfg.SecretAccessKey
	if s.secretAccessKey == "" {
		secret, err := loadOrCreateSecret(filepath.Join(dir, "secret-access-key"), func() string {
			// 40 characters, as AWS's secrets have.
			b := make([]byte, 30)
			rand.Read(b)
			return strings.NewReplacer("-", "+", "_", "/").Replace(b64.EncodeToString(b))
		})
		if err != nil {
			return err
		}
		s.secretAccessKey = secret
	}
	key, err := loadOrCreateSecret(filepath.Join(dir, "srp.key"), func() string {
		b := make([]byte, 32)
		rand.Read(b)
		return hex.EncodeToString(b)
	})
	if err != nil {
		return err
	}
	if s.srpKey, err = hex.DecodeString(key); err != nil || len(s.srpKey) < 16 {
		return fmt.Errorf("%s: not a hex key of 16 bytes or more", filepath.Join(dir, "srp.key"))
	}
	if s.srp, err = srp.NewServer(s.srpKey, srp.Options{Now: s.now, TTL: challengeTTL}); err != nil {
		return err
	}
	s.verifySignature, err = s.sigV4Verifier()
	return err
}

// loadOrCreateSecret reads a one-line secret from path, or writes a new
// one (mode 0600) when the file does not exist. A file others can read is
// refused rather than trusted.
func loadOrCreateSecret(path string, generate func() string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		v := generate()
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return "", fmt.Errorf("create %s: %w", path, err)
		}
		if _, err := f.WriteString(v + "\n"); err != nil {
			f.Close()
			return "", fmt.Errorf("write %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return "", fmt.Errorf("write %s: %w", path, err)
		}
		return v, nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s is readable by others (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return v, nil
}

// checkSignature refuses an admin call that does not carry a valid SigV4
// signature of the provider's key pair.
func (s *Server) checkSignature(r *http.Request, body []byte) error {
	return s.verifySignature(r, body)
}

// sigV4Verifier returns the admin operations' signature check: SigV4 for
// service cognito-idp in the pool's region, with the provider's key pair,
// X-Amz-Date within five minutes of the provider's clock.
func (s *Server) sigV4Verifier() (func(*http.Request, []byte) error, error) {
	region, _, _ := strings.Cut(s.poolID, "_")
	v, err := sigv4.New(sigv4.Credentials{AccessKeyID: s.accessKeyID, SecretAccessKey: s.secretAccessKey},
		sigv4.Options{Now: s.now, Region: region})
	if err != nil {
		return nil, fmt.Errorf("admin API credentials: %w", err)
	}
	return func(r *http.Request, body []byte) error {
		var e *sigv4.Error
		if err := v.Verify(r, body); errors.As(err, &e) {
			return &apiError{Type: e.Type, Message: e.Message, Status: e.Status}
		} else if err != nil {
			return err
		}
		return nil
	}, nil
}
