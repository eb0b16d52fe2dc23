package idp

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/usersvc/usersvc/web/idp/keys"
)

var b64 = base64.RawURLEncoding

// idClaims are the claims of an ID token, named and typed as Cognito's.
type idClaims struct {
	AtHash        string   `json:"at_hash,omitempty"`
	Sub           string   `json:"sub"`
	Groups        []string `json:"cognito:groups,omitempty"`
	EmailVerified bool     `json:"email_verified"`
	Iss           string   `json:"iss"`
	Username      string   `json:"cognito:username"`
	Nonce         string   `json:"nonce,omitempty"`
	OriginJTI     string   `json:"origin_jti"`
	Aud           string   `json:"aud"`
	EventID       string   `json:"event_id"`
	TokenUse      string   `json:"token_use"`
	AuthTime      int64    `json:"auth_time"`
	Exp           int64    `json:"exp"`
	Iat           int64    `json:"iat"`
	JTI           string   `json:"jti"`
	Email         string   `json:"email"`
}

// accessClaims are the claims of an access token: no aud, client_id instead.
type accessClaims struct {
	Sub       string   `json:"sub"`
	Groups    []string `json:"cognito:groups,omitempty"`
	Iss       string   `json:"iss"`
	Version   int      `json:"version"`
	ClientID  string   `json:"client_id"`
	OriginJTI string   `json:"origin_jti"`
	EventID   string   `json:"event_id"`
	TokenUse  string   `json:"token_use"`
	Scope     string   `json:"scope"`
	AuthTime  int64    `json:"auth_time"`
	Exp       int64    `json:"exp"`
	Iat       int64    `json:"iat"`
	JTI       string   `json:"jti"`
	Username  string   `json:"username"`
}

// sign returns claims as a compact JWS signed with the active key for use.
// The header is Cognito's: kid and alg, no typ.
func (s *Server) sign(use keys.Use, claims any) (string, error) {
	sg := s.keys.Active(use)
	header, err := json.Marshal(struct {
		Kid string `json:"kid"`
		Alg string `json:"alg"`
	}{sg.KeyID, "RS256"})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	n := b64.EncodedLen(len(header)) + 1 + b64.EncodedLen(len(payload))
	buf := make([]byte, n, n+1+b64.EncodedLen(sg.Key.Size()))
	b64.Encode(buf, header)
	buf[b64.EncodedLen(len(header))] = '.'
	b64.Encode(buf[b64.EncodedLen(len(header))+1:], payload)
	sig, err := sg.Sign(buf)
	if err != nil {
		return "", err
	}
	buf = append(buf, '.')
	return string(b64.AppendEncode(buf, sig)), nil
}

// atHash is the OIDC at_hash of an access token: the left half of its
// SHA-256, base64url encoded.
func atHash(accessToken string) string {
	h := sha256.Sum256([]byte(accessToken))
	return b64.EncodeToString(h[:16])
}

var errInvalidToken = errors.New("invalid token")

// verifyAccess checks an access token the provider issued: signature by a
// published access key, issuer, token_use and expiry.
func (s *Server) verifyAccess(token string, now time.Time) (accessClaims, error) {
	var c accessClaims
	if len(token) > 16<<10 {
		return c, errInvalidToken
	}
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil || len(jws.Signatures) != 1 {
		return c, errInvalidToken
	}
	pub, use, ok := s.keys.PublicKey(jws.Signatures[0].Header.KeyID)
	if !ok || use != keys.UseAccess {
		return c, errInvalidToken
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		return c, errInvalidToken
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return c, errInvalidToken
	}
	if c.TokenUse != "access" || c.Iss != s.issuer || now.Unix() >= c.Exp {
		return c, errInvalidToken
	}
	return c, nil
}
