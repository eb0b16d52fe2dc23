package idp

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/usersvc/usersvc/web/idp/users"
)

// FuzzAPI sends arbitrary bodies to every operation: the answer is always
// a JSON object, 200 or a Cognito error, never a panic or a 500.
func FuzzAPI(f *testing.F) {
	for _, seed := range []struct{ op, body string }{
		{"SignUp", `{"ClientId":"app","Username":"a@example.com","Password":"Corr3ct-horse","UserAttributes":[{"Name":"name","Value":"A"}]}`},
		{"InitiateAuth", `{"ClientId":"app","AuthFlow":"USER_PASSWORD_AUTH","AuthParameters":{"USERNAME":"a@example.com","PASSWORD":"x"}}`},
		{"InitiateAuth", `{"ClientId":"app","AuthFlow":"USER_SRP_AUTH","AuthParameters":{"USERNAME":"a@example.com","SRP_A":"00"}}`},
		{"RespondToAuthChallenge", `{"ClientId":"app","ChallengeName":"PASSWORD_VERIFIER","ChallengeResponses":{"USERNAME":"a","PASSWORD_CLAIM_SECRET_BLOCK":"AAAA","TIMESTAMP":"Tue Mar 3 09:05:07 UTC 2026","PASSWORD_CLAIM_SIGNATURE":"AA=="}}`},
		{"GetUser", `{"AccessToken":"e30.e30.e30"}`},
		{"ConfirmSignUp", `{"ClientId":"app","Username":"a@example.com","ConfirmationCode":"123456"}`},
		{"RevokeToken", `{"ClientId":"app","Token":"x"}`},
		{"VerifyUserAttribute", `{"AccessToken":"e30.e30.e30","AttributeName":"email","Code":"123456"}`},
		{"GetUserAttributeVerificationCode", `{"AccessToken":"e30.e30.e30","AttributeName":"email"}`},
		{"SignUp", `{"ClientId":"app","Username":5}`},
		{"SignUp", `[]`},
		{"SignUp", `{"ClientId":"app","UserAttributes":[{"Name":null}]}`},
	} {
		f.Add(seed.op, seed.body)
	}
	e := newAPIEnv(f)
	h := e.srv.Handler()
	f.Fuzz(func(t *testing.T, op, body string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", targetPrefix+op)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 && rec.Code != 400 && rec.Code != 413 {
			t.Fatalf("%s %q: status %d %s", op, body, rec.Code, rec.Body)
		}
		var doc map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			t.Fatalf("%s %q: answer is not a JSON object: %q", op, body, rec.Body)
		}
		if rec.Code != 200 && (doc["__type"] == "" || doc["__type"] == excInternal) {
			t.Fatalf("%s %q: %s", op, body, rec.Body)
		}
		if rec.Header().Get("x-amzn-RequestId") == "" {
			t.Fatal("no x-amzn-RequestId")
		}
	})
}

// FuzzParseFilter: the parser never panics, and what it accepts prints
// back to a filter that parses to the same thing.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		`email ^= "bob"`, `email="a@b.c"`, `cognito:user_status = "CONFIRMED"`, `name ^= "a \"quoted\" \\ name"`,
		`status = "Enabled"`, ``, `   `, `email ^=`, `email = "unterminated`, `custom:x = "y"`, `email = "a" extra`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := users.ParseFilter(s)
		if err != nil || flt == nil {
			return
		}
		op := "="
		if flt.Prefix {
			op = "^="
		}
		again, err := users.ParseFilter(flt.Attr + " " + op + " " + quoteFilter(flt.Value))
		if err != nil || *again != *flt {
			t.Fatalf("%q parsed to %+v, which prints back to %+v (%v)", s, flt, again, err)
		}
		flt.Match(users.User{Email: s, Attributes: map[string]string{"name": s}})
	})
}

func quoteFilter(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// TestFilterParser lists what the parser accepts and refuses.
func TestFilterParser(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string // attr|prefix|value, or "error", or "nil"
	}{
		{`email ^= "bob"`, "email|true|bob"},
		{`email="a@b.c"`, "email|false|a@b.c"},
		{`  name  =  "x y"  `, "name|false|x y"},
		{`cognito:user_status = "CONFIRMED"`, "cognito:user_status|false|CONFIRMED"},
		{`name ^= "a \"q\" \\"`, `name|true|a "q" \`},
		{``, "nil"},
		{`custom:team = "x"`, "error"},
		{`email != "x"`, "error"},
		{`email = x`, "error"},
		{`email = "x`, "error"},
		{`email = "x" y`, "error"},
		{`= "x"`, "error"},
		{`email ^ = "x"`, "error"},
		{strings.Repeat("a", 300), "error"},
	} {
		f, err := users.ParseFilter(c.in)
		got := "error"
		switch {
		case err == nil && f == nil:
			got = "nil"
		case err == nil:
			got = f.Attr + "|" + strconv.FormatBool(f.Prefix) + "|" + f.Value
		}
		if got != c.want {
			t.Errorf("ParseFilter(%q) = %s (%v), want %s", c.in, got, err, c.want)
		}
	}
}
