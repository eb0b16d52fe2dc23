package sigv4

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var (
	testCreds = Credentials{AccessKeyID: "local", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	// The clock of the provider in every test.
	testNow = time.Date(2026, 12, 4, 23, 30, 0, 0, time.UTC)
)

const testBody = `{"UserPoolId":"us-east-1_Loc4lP00l","Username":"alice"}`

// request is what a case sends: a Cognito admin call, signed by
// aws-sdk-go-v2's signer, then altered.
type request struct {
	creds    aws.Credentials
	service  string
	region   string
	signedAt time.Time
	path     string
	body     string
	header   http.Header // set before signing
	after    func(r *http.Request)
}

func defaultRequest() request {
	return request{
		creds:    aws.Credentials{AccessKeyID: testCreds.AccessKeyID, SecretAccessKey: testCreds.SecretAccessKey},
		service:  "cognito-idp",
		region:   "us-east-1",
		signedAt: testNow,
		path:     "/",
		body:     testBody,
		header: http.Header{
			"Content-Type": {"application/x-amz-json-1.1"},
			"X-Amz-Target": {"AWSCognitoIdentityProviderService.AdminGetUser"},
		},
	}
}

// send signs and sends req to srv and returns what the server's Verify
// said, as the JSON error it would write ("" for success).
func send(t *testing.T, srv *httptest.Server, req request) (typ, msg string) {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, srv.URL+req.path, strings.NewReader(req.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range req.header {
		r.Header[k] = vs
	}
	sum := sha256.Sum256([]byte(req.body))
	if err := v4.NewSigner().SignHTTP(context.Background(), req.creds, r, hex.EncodeToString(sum[:]), req.service, req.region, req.signedAt); err != nil {
		t.Fatal(err)
	}
	if req.after != nil {
		req.after(r)
	}
	resp, err := srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Type, Message string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out.Type != "" && resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d for %s", resp.StatusCode, out.Type)
	}
	return out.Type, out.Message
}

// newServer answers every request with what Verify says of it.
func newServer(t *testing.T, opts Options) *httptest.Server {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	v, err := New(testCreds, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		out := struct{ Type, Message string }{}
		status := http.StatusOK
		if err := v.Verify(r, body); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("Verify returned %T %v, not an *Error", err, err)
				return
			}
			out.Type, out.Message, status = e.Type, e.Message, e.Status
		}
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestVerify(t *testing.T) {
	srv := newServer(t, Options{})
	const mismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	cases := []struct {
		name    string
		change  func(*request)
		typ     string
		message string // exact when set; prefix when it ends in "..."
	}{
		{"signed by the SDK", func(*request) {}, "", ""},
		{"another region", func(r *request) { r.region = "eu-west-3" }, "", ""},
		{"unsigned header added", func(r *request) {
			r.after = func(h *http.Request) { h.Header.Set("X-Forwarded-For", "127.0.0.1") }
		}, "", ""},
		{"user agent changed", func(r *request) {
			r.after = func(h *http.Request) { h.Header.Set("User-Agent", "something else") }
		}, "", ""},
		{"SDK headers, spaces and repeats", func(r *request) {
			r.header.Set("Amz-Sdk-Invocation-Id", "b8f5c2c5-1b0e-4b4e-9d7a-1f7d7a1d2c3e")
			r.header.Set("Amz-Sdk-Request", "attempt=1; max=3")
			r.header.Set("X-Custom", "  a   b  c  ")
			r.header.Add("X-Repeated", "one")
			r.header.Add("X-Repeated", " two ")
		}, "", ""},
		{"query and escaped path", func(r *request) {
			r.path = "/a%20b/c~d/%E2%98%83?b=2&a=x%2By&a=%20&empty="
		}, "", ""},
		{"query names that prefix others", func(r *request) {
			r.path = "/?a-b=2&a=1&a.b=3&A=0"
		}, "", ""},
		{"x-amz-content-sha256 sent and right", func(r *request) {
			sum := sha256.Sum256([]byte(r.body))
			r.header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
		}, "", ""},
		{"empty body", func(r *request) { r.body = "" }, "", ""},
		{"signed 4m59s ago", func(r *request) { r.signedAt = testNow.Add(-4*time.Minute - 59*time.Second) }, "", ""},
		{"signed 4m59s ahead", func(r *request) { r.signedAt = testNow.Add(4*time.Minute + 59*time.Second) }, "", ""},

		{"no Authorization", func(r *request) {
			r.after = func(h *http.Request) { h.Header.Del("Authorization") }
		}, TypeMissingAuthenticationToken, "Missing Authentication Token"},
		{"empty Authorization", func(r *request) {
			r.after = func(h *http.Request) { h.Header.Set("Authorization", "") }
		}, TypeMissingAuthenticationToken, "Missing Authentication Token"},
		{"a bearer token", func(r *request) {
			r.after = func(h *http.Request) { h.Header.Set("Authorization", "Bearer eyJ0eXAi") }
		}, TypeIncompleteSignature, "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=Bearer eyJ0eXAi"},
		{"a bearer token and no date", func(r *request) {
			r.after = func(h *http.Request) {
				h.Header.Set("Authorization", "Bearer eyJ0eXAi")
				h.Header.Del("X-Amz-Date")
			}
		}, TypeIncompleteSignature, "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=Bearer eyJ0eXAi"},
		{"no signature", func(r *request) {
			r.after = func(h *http.Request) {
				a := h.Header.Get("Authorization")
				h.Header.Set("Authorization", a[:strings.Index(a, ", Signature=")])
			}
		}, TypeIncompleteSignature, "Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 Credential=local/20261204/us-east-1/cognito-idp/aws4_request, SignedHeaders=..."},
		{"a part without =", func(r *request) {
			r.after = func(h *http.Request) {
				h.Header.Set("Authorization", strings.Replace(h.Header.Get("Authorization"), "Credential=", "Credential ", 1))
			}
		}, TypeIncompleteSignature, "'Credential local/20261204/us-east-1/cognito-idp/aws4_request' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 Credential local/..."},
		{"credential of four parts", func(r *request) {
			r.after = func(h *http.Request) {
				h.Header.Set("Authorization", strings.Replace(h.Header.Get("Authorization"), "/aws4_request", "", 1))
			}
		}, TypeIncompleteSignature, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'local/20261204/us-east-1/cognito-idp'"},
		{"SigV4a", func(r *request) {
			r.after = func(h *http.Request) {
				h.Header.Set("Authorization", strings.Replace(h.Header.Get("Authorization"), Algorithm, "AWS4-ECDSA-P256-SHA256", 1))
			}
		}, TypeIncompleteSignature, "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256'"},
		{"two Authorization headers", func(r *request) {
			r.after = func(h *http.Request) { h.Header.Add("Authorization", h.Header.Get("Authorization")) }
		}, TypeIncompleteSignature, "Authorization header appears more than once..."},
		{"no date", func(r *request) {
			r.after = func(h *http.Request) { h.Header.Del("X-Amz-Date") }
		}, TypeIncompleteSignature, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 ..."},
		{"date not ISO 8601", func(r *request) {
			r.after = func(h *http.Request) { h.Header.Set("X-Amz-Date", "2026-12-04T23:30:00Z") }
		}, TypeIncompleteSignature, "Date must be in ISO-8601 'basic format'. Got '2026-12-04T23:30:00Z'. See http://en.wikipedia.org/wiki/ISO_8601"},

		{"unknown access key", func(r *request) { r.creds.AccessKeyID = "AKIAIOSFODNN7EXAMPLE" },
			TypeUnrecognizedClient, "The security token included in the request is invalid."},
		{"session token", func(r *request) { r.creds.SessionToken = "FwoGZXIvYXdzEBYaD" },
			TypeUnrecognizedClient, "The security token included in the request is invalid."},

		{"wrong secret", func(r *request) { r.creds.SecretAccessKey = "not the secret" }, TypeInvalidSignature, mismatch},
		{"body changed", func(r *request) {
			r.after = func(h *http.Request) {
				b := strings.Replace(testBody, "alice", "bobby", 1)
				h.Body = io.NopCloser(strings.NewReader(b))
			}
		}, TypeInvalidSignature, mismatch},
		{"signed header changed", func(r *request) {
			r.after = func(h *http.Request) {
				h.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService.AdminDeleteUser")
			}
		}, TypeInvalidSignature, mismatch},
		{"path changed", func(r *request) {
			r.after = func(h *http.Request) { h.URL.Path = "/other" }
		}, TypeInvalidSignature, mismatch},
		{"query added", func(r *request) {
			r.after = func(h *http.Request) { h.URL.RawQuery = "a=1" }
		}, TypeInvalidSignature, mismatch},
		{"method changed", func(r *request) {
			r.after = func(h *http.Request) { h.Method = http.MethodPut }
		}, TypeInvalidSignature, mismatch},
		{"x-amz-content-sha256 of another body", func(r *request) {
			r.header.Set("X-Amz-Content-Sha256", strings.Repeat("0", 64))
		}, TypeInvalidSignature, mismatch},
		{"X-Amz-Date moved within the day", func(r *request) {
			r.after = func(h *http.Request) { h.Header.Set("X-Amz-Date", "20261204T232900Z") }
		}, TypeInvalidSignature, mismatch},
		{"signature altered", func(r *request) {
			r.after = func(h *http.Request) {
				a := h.Header.Get("Authorization")
				last := a[len(a)-1]
				flip := map[byte]byte{'0': '1'}[last]
				if flip == 0 {
					flip = '0'
				}
				h.Header.Set("Authorization", a[:len(a)-1]+string(flip))
			}
		}, TypeInvalidSignature, mismatch},
		{"another service", func(r *request) { r.service = "dynamodb" },
			TypeInvalidSignature, "Credential should be scoped to correct service: 'cognito-idp'. "},
		{"another terminator", func(r *request) {
			r.after = func(h *http.Request) {
				h.Header.Set("Authorization", strings.Replace(h.Header.Get("Authorization"), "aws4_request", "aws5_request", 1))
			}
		}, TypeInvalidSignature, "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. "},
		{"scope date not the request's", func(r *request) {
			r.after = func(h *http.Request) { h.Header.Set("X-Amz-Date", "20261205T000100Z") }
		}, TypeInvalidSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261204' != '20261205', from '20261205T000100Z'."},
		{"host not signed", func(r *request) {
			r.after = func(h *http.Request) {
				h.Header.Set("Authorization", strings.Replace(h.Header.Get("Authorization"), "host;", "", 1))
			}
		}, TypeInvalidSignature, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."},
		// Signed as AdminGetUser would be but with no target, then sent
		// as AdminDeleteUser: the signature is right, the operation is not
		// what was signed.
		{"x-amz-target added after signing", func(r *request) {
			r.header.Del("X-Amz-Target")
			r.after = func(h *http.Request) {
				h.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService.AdminDeleteUser")
			}
		}, TypeInvalidSignature, "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."},
		{"x-amz-target not in SignedHeaders", func(r *request) {
			r.after = func(h *http.Request) {
				h.Header.Set("Authorization", strings.Replace(h.Header.Get("Authorization"), ";x-amz-target", "", 1))
			}
		}, TypeInvalidSignature, "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."},
		{"x-amz-date not in SignedHeaders", func(r *request) {
			r.after = func(h *http.Request) {
				h.Header.Set("Authorization", strings.Replace(h.Header.Get("Authorization"), ";x-amz-date", "", 1))
			}
		}, TypeInvalidSignature, "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization."},
		{"no x-amz-target, none signed", func(r *request) { r.header.Del("X-Amz-Target") }, "", ""},
		{"signed 6 minutes ago", func(r *request) { r.signedAt = testNow.Add(-6 * time.Minute) },
			TypeInvalidSignature, "Signature expired: 20261204T232400Z is now earlier than 20261204T232500Z (20261204T233000Z - 5 min.)"},
		{"signed 6 minutes ahead", func(r *request) { r.signedAt = testNow.Add(6 * time.Minute) },
			TypeInvalidSignature, "Signature not yet current: 20261204T233600Z is still later than 20261204T233500Z (20261204T233000Z + 5 min.)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := defaultRequest()
			tc.change(&req)
			typ, msg := send(t, srv, req)
			if typ != tc.typ {
				t.Fatalf("refused with %q %q, want %q", typ, msg, tc.typ)
			}
			if prefix, ok := strings.CutSuffix(tc.message, "..."); ok {
				if !strings.HasPrefix(msg, prefix) {
					t.Errorf("message %q, want it to start %q", msg, prefix)
				}
			} else if msg != tc.message {
				t.Errorf("message %q, want %q", msg, tc.message)
			}
		})
	}
}

func TestVerifyRegion(t *testing.T) {
	srv := newServer(t, Options{Region: "us-east-1"})
	req := defaultRequest()
	if typ, msg := send(t, srv, req); typ != "" {
		t.Fatalf("configured region refused: %s %s", typ, msg)
	}
	req.region = "eu-west-1"
	typ, msg := send(t, srv, req)
	if typ != TypeInvalidSignature || msg != "Credential should be scoped to a valid region, not 'eu-west-1'. " {
		t.Fatalf("another region: %s %q", typ, msg)
	}
}

func TestErrorIs(t *testing.T) {
	err := error(refuse(TypeInvalidSignature, "x"))
	if !errors.Is(err, ErrInvalidSignature) || errors.Is(err, ErrUnrecognizedClient) {
		t.Fatal("errors.Is does not match on the exception type")
	}
}

func TestNew(t *testing.T) {
	for _, c := range []Credentials{{}, {AccessKeyID: "x"}, {SecretAccessKey: "y"}, {AccessKeyID: "a/b", SecretAccessKey: "y"}} {
		if _, err := New(c, Options{}); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}

// TestVerifyInProcess hands Verify a request that never went over the
// wire (as a handler test would), where Host and Content-Length live
// outside the header map.
func TestVerifyInProcess(t *testing.T) {
	v, _ := New(testCreds, Options{Now: func() time.Time { return testNow }})
	r := httptest.NewRequest(http.MethodPost, "http://localhost:9229/", strings.NewReader(testBody))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	sum := sha256.Sum256([]byte(testBody))
	creds := aws.Credentials{AccessKeyID: testCreds.AccessKeyID, SecretAccessKey: testCreds.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), "cognito-idp", "us-east-1", testNow); err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(r, []byte(testBody)); err != nil {
		t.Fatal(err)
	}
}
