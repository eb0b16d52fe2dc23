package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/usersvc/usersvc/terraform"
	"github.com/usersvc/usersvc/web/accounts"
	"github.com/usersvc/usersvc/web/accounts/accountstest"
)

// isolateAWS points the AWS SDK at nothing of this machine's: no shared
// config or credentials files, no instance metadata, no profile, and the
// given endpoint and key pair.
func isolateAWS(t *testing.T, endpoint, keyID, secret string) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE":                            filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":                filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":                  "true",
		"AWS_PROFILE":                                "",
		"AWS_REGION":                                 "",
		"AWS_DEFAULT_REGION":                         "",
		"AWS_SESSION_TOKEN":                          "",
		"AWS_ENDPOINT_URL":                           "",
		"AWS_MAX_ATTEMPTS":                           "1",
		"AWS_ACCESS_KEY_ID":                          keyID,
		"AWS_SECRET_ACCESS_KEY":                      secret,
		"AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER": endpoint,
	} {
		t.Setenv(k, v)
	}
}

func runAdminArgs(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = runAdmin(context.Background(), args, os.Getenv, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestAdminUsageErrors(t *testing.T) {
	// No endpoint is reachable: every case must fail before calling one.
	isolateAWS(t, "http://127.0.0.1:1", "AKIDTEST", "secret")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "no command given"},
		{"unknown command", []string{"promote", "a@example.com"}, `unknown command "promote"`},
		{"invite without email", []string{"invite"}, "give one EMAIL"},
		{"two emails", []string{"grant", "a@example.com", "b@example.com"}, "give one EMAIL"},
		{"list with an argument", []string{"list", "a"}, "unexpected arguments"},
		{"-admin elsewhere", []string{"grant", "a@example.com", "-admin"}, "-admin is for invite"},
		{"-filter elsewhere", []string{"-filter", "a", "disable", "a@example.com"}, "-filter is for list"},
		{"unknown flag", []string{"list", "-bogus"}, "flag provided but not defined"},
		{"no pool", []string{"-aws-config", filepath.Join(t.TempDir(), "missing.json"), "list"}, "does not exist (run portal deploy first)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.name != "no pool" {
				args = append([]string{"-user-pool-id", "eu-west-1_Test"}, args...)
			}
			_, _, err := runAdminArgs(t, args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if _, stderr, err := runAdminArgs(t, "-h"); !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "invite EMAIL [-admin]") {
		t.Errorf("-h: %v\n%s", err, stderr)
	}
}

func TestAdminPool(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, c terraform.AWSConfig) string {
		p := filepath.Join(dir, name)
		if err := terraform.WriteConfig(p, c); err != nil {
			t.Fatal(err)
		}
		return p
	}
	full := write("full.json", terraform.AWSConfig{Region: "eu-central-1", UserPoolID: "eu-central-1_Full", Issuer: "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_Other"})
	issuerOnly := write("issuer.json", terraform.AWSConfig{Issuer: "https://cognito-idp.us-east-2.amazonaws.com/us-east-2_FromIssuer"})
	open := write("open.json", terraform.AWSConfig{UserPoolID: "eu-west-1_Open"})
	if err := os.Chmod(open, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, flag, file string
		wantPool         string
		wantErr          string
	}{
		{"flag wins", "eu-west-1_Flag", full, "eu-west-1_Flag", ""},
		{"user_pool_id", "", full, "eu-central-1_Full", ""},
		{"issuer's last segment", "", issuerOnly, "us-east-2_FromIssuer", ""},
		{"readable by others", "", open, "", "readable by others"},
		{"missing", "", filepath.Join(dir, "none.json"), "", "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool, err := adminPool(tt.flag, tt.file)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || pool != tt.wantPool {
				t.Errorf("adminPool = %q, %v; want %q", pool, err, tt.wantPool)
			}
		})
	}
}

// TestAdminUsesTheSDKsStandardConfig checks the wiring against a canned
// endpoint: the endpoint variable, the key pair from the environment
// (SigV4 for cognito-idp in the pool's region), the pool from aws.json,
// and the filter quoted.
func TestAdminUsesTheSDKsStandardConfig(t *testing.T) {
	var mu sync.Mutex
	var got struct {
		target, auth string
		body         map[string]any
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got.target, got.auth = r.Header.Get("X-Amz-Target"), r.Header.Get("Authorization")
		json.Unmarshal(b, &got.body)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write([]byte(`{"Users":[{"Username":"u-1","Enabled":true,"UserStatus":"CONFIRMED","UserCreateDate":1767225600,
			"Attributes":[{"Name":"email","Value":"a\"b@example.com"},{"Name":"sub","Value":"u-1"}]}]}`))
	}))
	defer srv.Close()
	isolateAWS(t, srv.URL, "AKIDTEST", "secret")
	cfgPath := filepath.Join(t.TempDir(), "aws.json")
	if err := terraform.WriteConfig(cfgPath, terraform.AWSConfig{Region: "eu-west-1", UserPoolID: "eu-west-1_Pool"}); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := runAdminArgs(t, "list", "-aws-config", cfgPath, "-filter", `a"b`)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got.target != "AWSCognitoIdentityProviderService.ListUsers" {
		t.Errorf("X-Amz-Target %q", got.target)
	}
	if !strings.Contains(got.auth, "Credential=AKIDTEST/") || !strings.Contains(got.auth, "/eu-west-1/cognito-idp/aws4_request") {
		t.Errorf("Authorization %q", got.auth)
	}
	if got.body["UserPoolId"] != "eu-west-1_Pool" || got.body["Filter"] != `email ^= "a\"b"` {
		t.Errorf("request %v", got.body)
	}
	for _, want := range []string{"EMAIL", `a"b@example.com`, "CONFIRMED", "yes", "2026-01-01 00:00", "u-1"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("list output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestAdminThrottled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amzn-RequestId", "req-throttled")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"__type":"TooManyRequestsException","message":"Rate exceeded"}`))
	}))
	defer srv.Close()
	isolateAWS(t, srv.URL, "AKIDTEST", "secret")
	_, _, err := runAdminArgs(t, "-user-pool-id", "eu-west-1_Pool", "disable", "a@example.com")
	if err == nil || !strings.Contains(err.Error(), "nothing was changed") || !strings.Contains(err.Error(), "req-throttled") {
		t.Errorf("err = %v", err)
	}
}

// TestAdminAgainstLocalProvider runs every portal admin command against
// the local identity provider's Cognito API, configured only through the
// SDK's standard variables, as an operator would.
func TestAdminAgainstLocalProvider(t *testing.T) {
	p := accountstest.StartProvider(t, "root@example.com", "Root-pass1!", nil)
	isolateAWS(t, p.URL, p.KeyID, p.Secret)
	t.Setenv("AWS_MAX_ATTEMPTS", "") // the standard retries, as an operator has them
	pool := []string{"-user-pool-id", p.PoolID}
	svc := accounts.New(p.Client, p.PoolID)
	ctx := context.Background()
	account := func(email string) accounts.Account {
		t.Helper()
		a, err := svc.Find(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		a, err = svc.Get(ctx, a.Username)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	steps := []struct {
		args    []string
		wantOut string
		check   func() bool
	}{
		{[]string{"invite", "ops@example.com", "-admin"}, "invited ops@example.com", func() bool {
			a := account("ops@example.com")
			return a.Status == "FORCE_CHANGE_PASSWORD" && a.InGroup(accounts.AdminGroup)
		}},
		{[]string{"invite", "dev@example.com"}, "Cognito mailed them a temporary password", func() bool { return !account("dev@example.com").InGroup(accounts.AdminGroup) }},
		{[]string{"grant", "dev@example.com"}, "dev@example.com added to admins", func() bool { return account("dev@example.com").InGroup(accounts.AdminGroup) }},
		{[]string{"revoke", "DEV@example.com"}, "dev@example.com removed from admins", func() bool { return !account("dev@example.com").InGroup(accounts.AdminGroup) }},
		{[]string{"disable", "dev@example.com"}, "dev@example.com disabled", func() bool { return !account("dev@example.com").Enabled }},
		{[]string{"enable", account("root@example.com").Sub}, "root@example.com enabled", func() bool { return account("root@example.com").Enabled }},
		{[]string{"list"}, "root@example.com", nil},
		{[]string{"list", "-filter", "dev"}, "dev@example.com", nil},
		{[]string{"list", "-filter", `x" or email ^= "`}, "no account's email starts with", nil},
	}
	for _, s := range steps {
		t.Run(strings.Join(s.args, " "), func(t *testing.T) {
			stdout, _, err := runAdminArgs(t, append(pool, s.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(stdout, s.wantOut) {
				t.Errorf("output lacks %q:\n%s", s.wantOut, stdout)
			}
			if s.check != nil && !s.check() {
				t.Error("not done")
			}
		})
	}
	if m, err := p.Server.Outbox().Latest("ops@example.com"); err != nil || !strings.Contains(m.Body, "temporary password") {
		t.Errorf("invitation mail: %v", err)
	}
	stdout, _, _ := runAdminArgs(t, append(pool, "list", "-filter", "dev")...)
	if strings.Contains(stdout, "root@") || !strings.Contains(stdout, "dev@example.com") || !strings.Contains(stdout, "FORCE_CHANGE_PASSWORD") {
		t.Errorf("filtered list:\n%s", stdout)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"grant", "nobody@example.com"}, "no such account"},
		{[]string{"disable", "no-such-sub"}, "no such account"},
		{[]string{"invite", "dev@example.com"}, "exists already"},
		{[]string{"invite", "not-an-email"}, "not an email address"},
	} {
		if _, _, err := runAdminArgs(t, append(pool, tt.args...)...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err = %v, want %q", tt.args, err, tt.want)
		}
	}

	// An account whose address nobody verified is not granted by that
	// address: anyone may have typed it (issue 12 review).
	if _, err := p.Client.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId: aws.String(p.PoolID), Username: aws.String("typed@example.com"), MessageAction: types.MessageActionTypeSuppress,
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String("typed@example.com")}},
	}); err != nil {
		t.Fatal(err)
	}
	if a := account("typed@example.com"); a.EmailVerified {
		t.Fatal("the test account's email is verified; the refusal below would not be exercised")
	}
	if _, _, err := runAdminArgs(t, append(pool, "grant", "typed@example.com")...); err == nil || !strings.Contains(err.Error(), "has not verified the address") {
		t.Errorf("grant of an unverified address: err = %v, want a refusal", err)
	}
	if account("typed@example.com").InGroup(accounts.AdminGroup) {
		t.Error("an account with an unverified address was made admin by that address")
	}
	if _, _, err := runAdminArgs(t, append(pool, "grant", account("typed@example.com").Username)...); err != nil || !account("typed@example.com").InGroup(accounts.AdminGroup) {
		t.Errorf("grant by username, knowingly: %v", err)
	}

	// A wrong secret is refused by the provider, and said so.
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	if _, _, err := runAdminArgs(t, append(pool, "list")...); err == nil || !strings.Contains(err.Error(), "InvalidSignature") && !strings.Contains(err.Error(), "signature") {
		t.Errorf("wrong secret: %v", err)
	}
}
