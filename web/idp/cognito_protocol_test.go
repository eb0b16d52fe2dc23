package idp

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/usersvc/usersvc/web/idp/users"
)

// TestAPIProtocol: what SDKs never send, sent by hand; each gets a clear
// Cognito error with x-amzn-RequestId, and nothing changes.
func TestAPIProtocol(t *testing.T) {
	e := newAPIEnv(t)
	const signUp = `{"ClientId":"app","Username":"p@example.com","Password":"` + testPassword + `"}`
	for _, c := range []struct {
		name        string
		target      string
		contentType string
		body        string
		status      int
		typ         string
	}{
		{"unknown operation", "AWSCognitoIdentityProviderService.Nope", "", "{}", 400, "UnknownOperationException"},
		{"no target", "", "", "{}", 400, "UnknownOperationException"},
		{"another service's target", "DynamoDB_20120810.SignUp", "", signUp, 400, "UnknownOperationException"},
		{"malformed JSON", "", "", `{"ClientId":`, 400, "SerializationException"},
		{"not an object", "", "", `[1,2]`, 400, "SerializationException"},
		{"unknown member", "", "", `{"ClientId":"app","Username":"p@example.com","Password":"x","Shoe":1}`, 400, "SerializationException"},
		{"wrong type", "", "", `{"ClientId":5,"Username":"p@example.com","Password":"x"}`, 400, "SerializationException"},
		{"wrong nested type", "", "", `{"ClientId":"app","Username":"p@example.com","Password":"x","UserAttributes":{"a":1}}`, 400, "SerializationException"},
		{"trailing data", "", "", signUp + `{}`, 400, "SerializationException"},
		{"missing member", "", "", `{"ClientId":"app","Username":"p@example.com"}`, 400, "InvalidParameterException"},
		{"oversized body", "", "", `{"ClientId":"` + strings.Repeat("a", MaxAPIBody) + `"}`, 413, "InvalidParameterException"},
		{"form content type", "", "application/x-www-form-urlencoded", signUp, 400, "SerializationException"},
	} {
		t.Run(c.name, func(t *testing.T) {
			target := c.target
			if target == "" && c.name != "no target" {
				target = "AWSCognitoIdentityProviderService.SignUp"
			}
			ct := c.contentType
			if ct == "" {
				ct = "application/x-amz-json-1.1"
			}
			status, h, body := apiCall(t, e, target, ct, c.body)
			if status != c.status || h.Get("x-amzn-ErrorType") != c.typ || h.Get("x-amzn-RequestId") == "" {
				t.Fatalf("status %d, type %q, request id %q; want %d %s", status, h.Get("x-amzn-ErrorType"), h.Get("x-amzn-RequestId"), c.status, c.typ)
			}
			var doc map[string]string
			if err := json.Unmarshal([]byte(body), &doc); err != nil || doc["__type"] != c.typ || doc["message"] == "" {
				t.Fatalf("body %q", body)
			}
			if strings.Contains(body, testPassword) || len(body) > 512 {
				t.Fatalf("the error echoes the request: %q", body)
			}
		})
	}
	if _, err := e.srv.Users().ByEmail(t.Context(), "p@example.com"); err == nil {
		t.Fatal("a refused request created an account")
	}
	// The answer to a good call carries a request id too; GET / is still
	// the provider's page.
	status, h, _ := apiCall(t, e, "AWSCognitoIdentityProviderService.SignUp", "application/x-amz-json-1.1", signUp)
	if status != 200 || h.Get("x-amzn-RequestId") == "" || h.Get("Content-Type") != "application/x-amz-json-1.1" {
		t.Fatalf("good call: %d %v", status, h)
	}
	if u, err := e.srv.Users().ByEmail(t.Context(), "p@example.com"); err != nil || u.Status != users.Unconfirmed {
		t.Fatalf("account %+v %v", u, err)
	}
	resp, err := e.ts.Client().Get(e.ts.URL + "/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /: %v %v", resp, err)
	}
	resp.Body.Close()
	// A browser's preflight for the API.
	req, _ := http.NewRequest(http.MethodOptions, e.ts.URL+"/", nil)
	req.Header.Set("Origin", "http://localhost:3000")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type,x-amz-target,x-amz-user-agent")
	resp, err = e.ts.Client().Do(req)
	if err != nil || resp.StatusCode != 204 || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "X-Amz-Target") {
		t.Fatalf("preflight: %v %v", resp, err)
	}
	resp.Body.Close()
}

func apiCall(t testing.TB, e *apiEnv, target, contentType, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}
