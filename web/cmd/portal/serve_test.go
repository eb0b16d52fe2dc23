package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/usersvc/usersvc/terraform"
	"github.com/usersvc/usersvc/web/idp"
	"github.com/usersvc/usersvc/web/idp/users"
)

func TestServeFlags(t *testing.T) {
	dir := t.TempDir()
	writeConfig := func(name string, mode os.FileMode, c terraform.AWSConfig) string {
		p := filepath.Join(dir, name)
		b, _ := json.Marshal(c)
		if err := os.WriteFile(p, b, mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		return p
	}
	full := terraform.AWSConfig{Issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_X", ClientID: "c", ClientSecret: "s", APIURL: "https://api.example"}
	open := writeConfig("open.json", 0o644, full)
	partial := writeConfig("partial.json", 0o600, terraform.AWSConfig{Issuer: "https://i"})
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no config", []string{"-aws-config", filepath.Join(dir, "missing.json")}, "run portal deploy"},
		{"config readable by others", []string{"-aws-config", open}, "readable by others"},
		{"incomplete config", []string{"-aws-config", partial}, "lacks issuer, client_id or api_url"},
		{"issuer without client", []string{"-issuer", "https://i"}, "-client-id and -api-url are required"},
		{"stray argument", []string{"extra"}, "unexpected arguments"},
		{"bad portal url", []string{"-issuer", "https://i", "-client-id", "c", "-api-url", "http://a", "-url", "localhost", "-addr", "127.0.0.1:0", "-data", dir}, "want an http or https origin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := runServe(context.Background(), tt.args, func(string) string { return "" }, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if err := runServe(context.Background(), []string{"-h"}, func(string) string { return "" }, io.Discard, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	// A port asked of the kernel (":0") comes from the ephemeral range,
	// which every outgoing connection on the machine also draws from: on
	// a busy machine another socket can take it between this probe and
	// the command's own listen. Ports below that range are handed out
	// only on request, so a free one found here stays free.
	for range 100 {
		addr := fmt.Sprintf("127.0.0.1:%d", 20000+mathrand.IntN(12000))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		return addr
	}
	t.Fatal("no free port between 20000 and 32000")
	return ""
}

// TestServeWithAWSConfig runs `portal serve` configured only by an
// aws.json, against the real identity provider, and signs in with a plain
// HTTP client: the path a deployed stack takes, offline.
func TestServeWithAWSConfig(t *testing.T) {
	dir := t.TempDir()
	portalAddr := freeAddr(t)
	_, port, _ := net.SplitHostPort(portalAddr)
	portalURL := "http://localhost:" + port

	idpSrv := httptest.NewUnstartedServer(nil)
	idpURL := fmt.Sprintf("http://localhost:%d", idpSrv.Listener.Addr().(*net.TCPAddr).Port)
	provider, err := idp.New(idp.Config{
		URL:           idpURL,
		DataDir:       filepath.Join(dir, "idp"),
		Clients:       []idp.Client{idp.DevClient(portalURL, "serve-secret")},
		AdminEmail:    "admin@example.com",
		AdminPassword: "Adm1n!serve",
		PasswordCost:  users.TestCost,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer provider.Close()
	idpSrv.Config.Handler = provider.Handler()
	idpSrv.Start()
	defer idpSrv.Close()

	cfg := terraform.AWSConfig{
		Region: "local", Issuer: provider.Issuer(), UserPoolID: "pool", ClientID: "portal",
		ClientSecret: "serve-secret", HostedUIURL: idpURL, APIURL: "http://127.0.0.1:9", TableName: "t",
	}
	b, _ := json.Marshal(cfg)
	cfgPath := filepath.Join(dir, "aws.json")
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := runServe(ctx, []string{"-addr", portalAddr, "-aws-config", cfgPath, "-data", filepath.Join(dir, "portal")},
			func(string) string { return "" }, outW, io.Discard)
		outW.Close()
		done <- err
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runServe: %v", err)
		}
	}()
	line, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "portal  "+portalURL) {
		t.Fatalf("printed %q, %v", line, err)
	}
	go io.Copy(io.Discard, outR)

	c := goBrowser(t)
	page := signInWithForm(t, c, portalURL, "admin@example.com", "Adm1n!serve")
	for _, want := range []string{"Signed in as admin@example.com.", "Sign out", `href="/admin/users"`} {
		if !strings.Contains(page, want) {
			t.Errorf("home after sign-in lacks %q", want)
		}
	}

	// The API is down (nothing listens on port 9): a friendly page.
	resp, err := c.Get(portalURL + "/user?UserId=x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "The user service is unavailable") {
		t.Errorf("API down: %d\n%s", resp.StatusCode, body)
	}
}

func goBrowser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

var (
	formAction  = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
)

// signInWithForm follows the portal's Sign in to the provider's form, posts
// it as a browser would, and returns the page it ends on.
func signInWithForm(t *testing.T, c *http.Client, portalURL, email, password string) string {
	t.Helper()
	resp, err := c.Get(portalURL + "/auth/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := formAction.FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("no sign-in form at %s:\n%s", resp.Request.URL, b)
	}
	target, err := resp.Request.URL.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"username": {email}, "password": {password}}
	for _, h := range hiddenInput.FindAllStringSubmatch(string(b), -1) {
		form.Set(h[1], html.UnescapeString(h[2]))
	}
	req, _ := http.NewRequest("POST", target.String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", target.Scheme+"://"+target.Host)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(resp.Request.URL.String(), portalURL+"/") || resp.StatusCode != 200 {
		t.Fatalf("sign-in ended at %s with %d:\n%s", resp.Request.URL, resp.StatusCode, b)
	}
	return string(b)
}
