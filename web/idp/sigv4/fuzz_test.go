package sigv4

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzParseAuthorization: any Authorization header parses or is refused
// with an IncompleteSignatureException, and never panics.
func FuzzParseAuthorization(f *testing.F) {
	for _, seed := range []string{
		"",
		"Bearer eyJ0eXAi",
		"AWS4-HMAC-SHA256 Credential=local/20261204/us-east-1/cognito-idp/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"AWS4-HMAC-SHA256 Credential=local/20261204/us-east-1/cognito-idp/aws4_request,SignedHeaders=host,Signature=00",
		"AWS4-HMAC-SHA256 Credential=a/b/c/d, SignedHeaders=host, Signature=00",
		"AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature=",
		"AWS4-HMAC-SHA256 ,,,",
		"AWS4-HMAC-SHA256 Credential",
		"AWS4-ECDSA-P256-SHA256 Credential=x",
		"AWS4-HMAC-SHA256 Signature=1, Signature=2, Credential=a/b/c/d/e, SignedHeaders=;;",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		a, missing, err := parseAuthorization(header)
		switch {
		case err != nil:
			if !errors.Is(err, ErrIncompleteSignature) {
				t.Fatalf("parseAuthorization(%q) = %v, want IncompleteSignatureException", header, err)
			}
		case len(missing) > 0:
		default:
			if a.signature == "" || len(a.signedHeaders) == 0 || !strings.HasPrefix(header, Algorithm+" ") {
				t.Fatalf("parseAuthorization(%q) accepted %+v", header, a)
			}
		}
	})
}

// FuzzVerify: whatever the Authorization, X-Amz-Date and body, Verify
// refuses with an *Error (the key is not guessable) and never panics.
func FuzzVerify(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=local/20261204/us-east-1/cognito-idp/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", "20261204T233000Z", "{}")
	f.Add("AWS4-HMAC-SHA256 Credential=local/20261204/us-east-1/cognito-idp/aws4_request, SignedHeaders=content-length;transfer-encoding;host;:authority, Signature=00", "", "")
	f.Add("", "", "")
	f.Add("x", "20261204T233000", "\x00")
	v, _ := New(testCreds, Options{Now: func() time.Time { return testNow }})
	f.Fuzz(func(t *testing.T, auth, date, body string) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-Amz-Date", date)
		err := v.Verify(r, []byte(body))
		var e *Error
		if !errors.As(err, &e) || e.Type == "" || e.Message == "" || e.Status != http.StatusBadRequest {
			t.Fatalf("Verify = %v, want an *Error", err)
		}
	})
}
