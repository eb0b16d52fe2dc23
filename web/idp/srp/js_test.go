package srp

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// nodeClient returns the node binary and the script that signs in with
// amazon-cognito-identity-js, or skips the test (fails it under CI=true)
// when either node or the npm package is missing.
func nodeClient(t *testing.T) (node, script string) {
	t.Helper()
	missing := func(why string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: CI must run the SRP vectors", why)
		}
		t.Skip(why)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed (needed to run amazon-cognito-identity-js)")
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join(root, "node_modules", "amazon-cognito-identity-js", "package.json")
	if _, err := os.Stat(pkg); err != nil {
		missing("amazon-cognito-identity-js is not installed (run npm ci in " + root + ")")
	}
	script, err = filepath.Abs(filepath.Join("testdata", "signin.js"))
	if err != nil {
		t.Fatal(err)
	}
	return node, script
}

// moduleRoot walks up from the working directory to the one with go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// cognitoStub answers the two operations of an SRP sign-in the way Cognito
// does, on top of Server: just enough protocol for the real client library.
type cognitoStub struct {
	srv      *Server
	poolName string
	users    map[string]stubUser // by any name the user signs in with

	mu         sync.Mutex
	timestamps []string
	answers    []map[string]string // RespondToAuthChallenge's responses
}

type stubUser struct {
	id             string // USER_ID_FOR_SRP
	salt, verifier []byte
}

func (c *cognitoStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSCognitoIdentityProviderService.")
	var req struct {
		AuthFlow           string
		AuthParameters     map[string]string
		ChallengeName      string
		ChallengeResponses map[string]string
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		c.fail(w, "InvalidParameterException", err.Error())
		return
	}
	switch op {
	case "InitiateAuth":
		if req.AuthFlow != "USER_SRP_AUTH" {
			c.fail(w, "InvalidParameterException", "flow "+req.AuthFlow)
			return
		}
		name := req.AuthParameters["USERNAME"]
		u, ok := c.users[name]
		if !ok {
			u.id = name
			u.salt, u.verifier = c.srv.FakeVerifier(c.poolName, name)
		}
		ch, err := c.srv.Challenge(c.poolName, u.id, "", u.salt, u.verifier, req.AuthParameters["SRP_A"])
		if err != nil {
			c.fail(w, "InvalidParameterException", err.Error())
			return
		}
		c.reply(w, map[string]any{
			"ChallengeName": "PASSWORD_VERIFIER",
			"ChallengeParameters": map[string]string{
				"USER_ID_FOR_SRP": ch.UserIDForSRP,
				"SRP_B":           ch.SRPB,
				"SALT":            ch.Salt,
				"SECRET_BLOCK":    ch.SecretBlock,
			},
		})
	case "RespondToAuthChallenge":
		resp := req.ChallengeResponses
		c.mu.Lock()
		c.timestamps = append(c.timestamps, resp["TIMESTAMP"])
		c.answers = append(c.answers, resp)
		c.mu.Unlock()
		u, ok := c.users[resp["USERNAME"]]
		if !ok {
			u.id = resp["USERNAME"]
			_, u.verifier = c.srv.FakeVerifier(c.poolName, u.id)
		}
		if err := c.srv.Verify(c.poolName, u.id, "", u.verifier, resp["PASSWORD_CLAIM_SECRET_BLOCK"], resp["TIMESTAMP"], resp["PASSWORD_CLAIM_SIGNATURE"]); err != nil {
			c.fail(w, "NotAuthorizedException", "Incorrect username or password.")
			return
		}
		// Token contents do not matter to this test; the library only
		// decodes their payloads.
		c.reply(w, map[string]any{
			"ChallengeParameters": map[string]string{},
			"AuthenticationResult": map[string]any{
				"AccessToken": "e30.e30.sig", "IdToken": "e30.e30.sig", "RefreshToken": "refresh",
				"ExpiresIn": 3600, "TokenType": "Bearer",
			},
		})
	default:
		c.fail(w, "UnknownOperationException", op)
	}
}

func (c *cognitoStub) reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(v)
}

func (c *cognitoStub) fail(w http.ResponseWriter, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-ErrorType", typ)
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

// TestAmazonCognitoIdentityJS signs in with the real client library: it
// computes A, takes B, the salt and the secret block from Server.Challenge,
// derives the key and signs, and Server.Verify must accept exactly the
// right passwords.
func TestAmazonCognitoIdentityJS(t *testing.T) {
	node, script := nodeClient(t)
	const poolID = "us-east-1_Loc4lP00l"
	srv, err := NewServer([]byte("0123456789abcdef0123456789abcdef"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	stub := &cognitoStub{srv: srv, poolName: "Loc4lP00l", users: map[string]stubUser{}}
	add := func(id, password string, names ...string) {
		salt, v, err := NewVerifier(stub.poolName, id, password)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range append(names, id) {
			stub.users[n] = stubUser{id: id, salt: salt, verifier: v}
		}
	}
	add("alice", "Correct horse 9!")
	// Signs in by e-mail; USER_ID_FOR_SRP is the internal name, which the
	// library must then use in x and the signature.
	add("7d0e3c8a-1f2b-4c5d-8e9f-0a1b2c3d4e5f", "pässwörd ☃:with colon", "bob@example.com")
	add("carol", "")

	web := httptest.NewServer(stub)
	defer web.Close()

	// A day of the month below 10 shows the library's TIMESTAMP form.
	jan4 := time.Date(2026, 1, 4, 7, 8, 9, 0, time.UTC)
	cases := []struct {
		name, username, password string
		now                      *time.Time
		ok                       bool
	}{
		{"right password", "alice", "Correct horse 9!", nil, true},
		{"wrong password", "alice", "Correct horse 9?", nil, false},
		{"password differing in case", "alice", "correct horse 9!", nil, false},
		{"alias and unicode password", "bob@example.com", "pässwörd ☃:with colon", nil, true},
		{"alias, wrong password", "bob@example.com", "pässwörd ☃:with colon ", nil, false},
		{"internal name", "7d0e3c8a-1f2b-4c5d-8e9f-0a1b2c3d4e5f", "pässwörd ☃:with colon", nil, true},
		{"empty password", "carol", "", nil, true}, // policy is the caller's
		{"unknown user", "mallory", "Correct horse 9!", nil, false},
		{"single-digit day", "alice", "Correct horse 9!", &jan4, true},
	}
	type jsCase struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Now      *int64 `json:"now,omitempty"`
	}
	in := struct {
		Endpoint   string   `json:"endpoint"`
		UserPoolID string   `json:"userPoolId"`
		ClientID   string   `json:"clientId"`
		Cases      []jsCase `json:"cases"`
	}{Endpoint: web.URL + "/", UserPoolID: poolID, ClientID: "localclient"}
	for _, tc := range cases {
		jc := jsCase{Username: tc.username, Password: tc.password}
		if tc.now != nil {
			ms := tc.now.UnixMilli()
			jc.Now = &ms
		}
		in.Cases = append(in.Cases, jc)
	}
	body, _ := json.Marshal(in)
	cmd := exec.Command(node, script)
	cmd.Stdin = bytes.NewReader(body)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.String())
	}
	var res struct {
		K       string
		Results []struct {
			OK            bool
			Code, Message string
		}
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res.Results) != len(cases) {
		t.Fatalf("node printed %q (%v)", out, err)
	}

	if want := groupK.Text(16); res.K != want {
		t.Errorf("the library's k = %s, this package's %s", res.K, want)
	}
	for i, tc := range cases {
		r := res.Results[i]
		switch {
		case tc.ok && !r.OK:
			t.Errorf("%s: sign-in failed: %s %s", tc.name, r.Code, r.Message)
		case !tc.ok && r.OK:
			t.Errorf("%s: sign-in succeeded", tc.name)
		case !tc.ok && r.Code != "NotAuthorizedException":
			t.Errorf("%s: failed with %q %q, want NotAuthorizedException", tc.name, r.Code, r.Message)
		}
	}

	stub.mu.Lock()
	defer stub.mu.Unlock()
	if !slices.Contains(stub.timestamps, "Sun Jan 4 07:08:09 UTC 2026") {
		t.Errorf("TIMESTAMPs received %q, want one as \"Sun Jan 4 07:08:09 UTC 2026\"", stub.timestamps)
	}
	// The library's own answer, replayed, is refused.
	first := stub.answers[0]
	u := stub.users["alice"]
	err = srv.Verify(stub.poolName, u.id, "", u.verifier, first["PASSWORD_CLAIM_SECRET_BLOCK"], first["TIMESTAMP"], first["PASSWORD_CLAIM_SIGNATURE"])
	if !errors.Is(err, ErrReplayed) {
		t.Errorf("replayed answer: %v, want ErrReplayed", err)
	}
}
