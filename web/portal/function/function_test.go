package function_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/usersvc/usersvc/api/dynamo/dynalite"
	"github.com/usersvc/usersvc/web/portal/function"
	"github.com/usersvc/usersvc/web/portal/session/dynamo"
)

func TestMain(m *testing.M) { dynalite.Main(m) }

// theSecret is the client secret the SSM stand-in holds; no log line or
// error may show it.
const theSecret = "sup3r-s3cret-value-do-not-log"

// ssmStandIn answers GetParameter as SSM does (AWS JSON 1.1), holding
// params; any other name is ParameterNotFound. It counts the calls.
func ssmStandIn(t testing.TB, params map[string]string) (url string, calls *atomic.Int64) {
	calls = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		var in struct {
			Name           string
			WithDecryption bool
		}
		if r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParameter" || json.NewDecoder(r.Body).Decode(&in) != nil || !in.WithDecryption {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"__type":"ValidationException","message":"bad request"}`)
			return
		}
		v, ok := params[in.Name]
		if !ok {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"__type":"ParameterNotFound","message":"not found"}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{"Name": in.Name, "Type": "SecureString", "Value": v, "Version": 1}})
	}))
	t.Cleanup(srv.Close)
	return srv.URL, calls
}

var tables atomic.Int64

// newTable makes an empty sessions table on dynalite.
func newTable(t testing.TB) string {
	t.Helper()
	c := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(dynalite.URL(t)), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	name := fmt.Sprintf("portal-sessions-%d", tables.Add(1))
	if err := dynamo.New(c, name).EnsureTable(context.Background()); err != nil {
		t.Fatal(err)
	}
	return name
}

// environment is a complete function environment on dynalite and the SSM
// stand-in.
func environment(t testing.TB, ssmURL, table string) map[string]string {
	home := t.TempDir() // no shared AWS config or credentials files
	return map[string]string{
		"PORTAL_URL":                     "https://portal.example.com",
		"PORTAL_ISSUER":                  "http://127.0.0.1:1/us-east-1_Pool",
		"PORTAL_CLIENT_ID":               "portal",
		"PORTAL_API_URL":                 "http://127.0.0.1:1",
		"SESSIONS_TABLE":                 table,
		"PORTAL_CLIENT_SECRET_PARAMETER": "/usersvc/portal/client-secret",
		"AWS_REGION":                     "eu-west-1",
		"AWS_ACCESS_KEY_ID":              "test",
		"AWS_SECRET_ACCESS_KEY":          "test",
		"AWS_ENDPOINT_URL_DYNAMODB":      dynalite.URL(t),
		"AWS_ENDPOINT_URL_SSM":           ssmURL,
		"AWS_EC2_METADATA_DISABLED":      "true",
		"AWS_CONFIG_FILE":                filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":    filepath.Join(home, "credentials"),
		"HOME":                           home,
	}
}

// setenv puts env in the process environment for the SDK's own reading;
// the function's settings are read through getenv.
func setenv(t *testing.T, env map[string]string) func(string) string {
	for k, v := range env {
		if strings.HasPrefix(k, "AWS_") || k == "HOME" {
			t.Setenv(k, v)
		}
	}
	return func(k string) string { return env[k] }
}

func TestLoadEnv(t *testing.T) {
	good := map[string]string{
		"PORTAL_URL": "https://abc.execute-api.eu-west-1.amazonaws.com", "PORTAL_ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
		"PORTAL_CLIENT_ID": "4abc123", "PORTAL_API_URL": "https://def.execute-api.eu-west-1.amazonaws.com", "SESSIONS_TABLE": "usersvc-portal-sessions",
		"PORTAL_CLIENT_SECRET_PARAMETER": "/usersvc/portal/client-secret",
	}
	if _, err := function.LoadEnv(func(k string) string { return good[k] }); err != nil {
		t.Fatalf("good environment: %v", err)
	}
	for _, tt := range []struct {
		name, v, val string
	}{
		{"url missing", "PORTAL_URL", ""},
		{"url not absolute", "PORTAL_URL", "portal.example.com"},
		{"url with a path", "PORTAL_URL", "https://portal.example.com/x"},
		{"url ftp", "PORTAL_URL", "ftp://portal.example.com"},
		{"issuer missing", "PORTAL_ISSUER", ""},
		{"issuer relative", "PORTAL_ISSUER", "/pool"},
		{"issuer names no pool", "PORTAL_ISSUER", "https://idp.example.com/"},
		{"client id missing", "PORTAL_CLIENT_ID", ""},
		{"client id odd", "PORTAL_CLIENT_ID", "a b"},
		{"api missing", "PORTAL_API_URL", ""},
		{"api malformed", "PORTAL_API_URL", "http://[::1"},
		{"table missing", "SESSIONS_TABLE", ""},
		{"table malformed", "SESSIONS_TABLE", "a b"},
		{"parameter malformed", "PORTAL_CLIENT_SECRET_PARAMETER", "no spaces please"},
		{"secret in env", "PORTAL_CLIENT_SECRET", theSecret},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range good {
				env[k] = v
			}
			env[tt.v] = tt.val
			_, err := function.LoadEnv(func(k string) string { return env[k] })
			var ee *function.EnvError
			if !errors.As(err, &ee) || ee.Var != tt.v || !strings.HasPrefix(err.Error(), tt.v+": ") {
				t.Errorf("error %v, want one naming %s", err, tt.v)
			}
			if strings.Contains(fmt.Sprint(err), theSecret) {
				t.Error("the error shows the secret")
			}
		})
	}
	// A public client names no parameter.
	pub := map[string]string{}
	for k, v := range good {
		pub[k] = v
	}
	delete(pub, "PORTAL_CLIENT_SECRET_PARAMETER")
	if _, err := function.LoadEnv(func(k string) string { return pub[k] }); err != nil {
		t.Errorf("public client: %v", err)
	}
}

func TestNewServesHome(t *testing.T) {
	ssmURL, calls := ssmStandIn(t, map[string]string{"/usersvc/portal/client-secret": theSecret})
	env := environment(t, ssmURL, newTable(t))
	getenv := setenv(t, env)
	var logs bytes.Buffer
	p, err := function.New(t.Context(), getenv, function.Options{Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Errorf("%d GetParameter calls, want 1", calls.Load())
	}
	resp, err := p.Handler(t.Context(), homeEvent(t))
	if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, "Sign in") {
		t.Fatalf("home: %d %v\n%.300s", resp.StatusCode, err, resp.Body)
	}
	if strings.Contains(logs.String(), theSecret) || strings.Contains(resp.Body, theSecret) {
		t.Error("the secret leaked")
	}
}

func TestPublicClientSharesKey(t *testing.T) {
	table := newTable(t)
	env := environment(t, "http://127.0.0.1:1", table)
	delete(env, "PORTAL_CLIENT_SECRET_PARAMETER")
	getenv := setenv(t, env)
	a, err := function.New(t.Context(), getenv, function.Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	k1, _ := a.Sessions.SharedKey(t.Context(), "portal-state")
	k2, _ := a.Sessions.SharedKey(t.Context(), "portal-state")
	if len(k1) != 32 || !bytes.Equal(k1, k2) {
		t.Error("the shared key is not stable")
	}
}

func TestColdStartFailures(t *testing.T) {
	ssmURL, _ := ssmStandIn(t, map[string]string{"/usersvc/portal/client-secret": theSecret, "/empty": ""})
	down := httptest.NewServer(nil)
	down.Close()
	for _, tt := range []struct {
		name   string
		change func(env map[string]string)
		want   string
	}{
		{"parameter missing", func(env map[string]string) { env["PORTAL_CLIENT_SECRET_PARAMETER"] = "/nope" }, `PORTAL_CLIENT_SECRET_PARAMETER: parameter "/nope" does not exist`},
		{"parameter empty", func(env map[string]string) { env["PORTAL_CLIENT_SECRET_PARAMETER"] = "/empty" }, `PORTAL_CLIENT_SECRET_PARAMETER: parameter "/empty" is empty`},
		{"ssm down", func(env map[string]string) { env["AWS_ENDPOINT_URL_SSM"] = down.URL; env["AWS_MAX_ATTEMPTS"] = "1" }, "PORTAL_CLIENT_SECRET_PARAMETER: read parameter"},
		{"issuer missing", func(env map[string]string) { delete(env, "PORTAL_ISSUER") }, "PORTAL_ISSUER: not set"},
		{"region missing", func(env map[string]string) { env["AWS_REGION"] = "" }, "AWS_REGION: not set"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := environment(t, ssmURL, "unused-table")
			tt.change(env)
			_, err := function.New(t.Context(), setenv(t, env), function.Options{Log: slog.New(slog.DiscardHandler)})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %v, want one starting %q", err, tt.want)
			}
		})
	}
}

func homeEvent(t testing.TB) events.APIGatewayV2HTTPRequest {
	b, err := os.ReadFile(filepath.Join("testdata", "home.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// buildFunction builds lambdas/portal once for the test binary.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func buildFunction(t testing.TB) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "portal-fn")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "bootstrap")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/usersvc/usersvc/lambdas/portal").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// runtimeAPI is a Lambda Runtime API emulator serving one event: next
// hands it out once (and then waits), response records the answer.
type runtimeAPI struct {
	srv   *httptest.Server
	event []byte
	given atomic.Bool
	// waiting is set when the function asks for a second event.
	waiting atomic.Bool
	resp    chan []byte
}

func newRuntimeAPI(t testing.TB, event []byte) *runtimeAPI {
	rt := &runtimeAPI{event: event, resp: make(chan []byte, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		if rt.given.Swap(true) {
			rt.waiting.Store(true)
			<-r.Context().Done()
			return
		}
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", "req-1")
		w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(time.Minute).UnixMilli()))
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:portal")
		w.Write(rt.event)
	})
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rt.resp <- b
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rt.resp <- append([]byte("ERROR "), b...)
		w.WriteHeader(http.StatusAccepted)
	})
	rt.srv = httptest.NewServer(mux)
	t.Cleanup(rt.srv.Close)
	return rt
}

// coldStart runs the built function under a fresh Runtime API emulator
// until it has answered the home page event, and returns how long that
// took from process start, and the response.
func coldStart(t testing.TB, bin string, env map[string]string, event []byte) (time.Duration, events.APIGatewayV2HTTPResponse, string) {
	rt := newRuntimeAPI(t, event)
	cmd := exec.Command(bin)
	cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + strings.TrimPrefix(rt.srv.URL, "http://"), "PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var resp events.APIGatewayV2HTTPResponse
	select {
	case b := <-rt.resp:
		took := time.Since(start)
		if bytes.HasPrefix(b, []byte("ERROR ")) {
			// The runtime asks for the next event rather than exit.
			for !rt.waiting.Load() {
				select {
				case err := <-exited:
					t.Fatalf("the process ended after a failed invocation: %v\n%s", err, out.String())
				case <-time.After(time.Millisecond):
				}
			}
		}
		cmd.Process.Kill()
		<-exited
		if bytes.HasPrefix(b, []byte("ERROR ")) {
			return took, resp, string(b)
		}
		if err := json.Unmarshal(b, &resp); err != nil {
			t.Fatalf("response %s: %v", b, err)
		}
		return took, resp, out.String()
	case err := <-exited:
		return 0, resp, fmt.Sprintf("exited: %v\n%s", err, out.String())
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("no response within 30s:\n%s", out.String())
	}
	return 0, resp, ""
}

// TestFunctionBinary runs the built function under the Runtime API
// emulator: it answers the home page, and with the SSM parameter missing
// it exits with one log line naming the variable, and no secret anywhere.
func TestFunctionBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the function")
	}
	bin := buildFunction(t)
	ssmURL, _ := ssmStandIn(t, map[string]string{"/usersvc/portal/client-secret": theSecret})
	env := environment(t, ssmURL, newTable(t))
	event, _ := os.ReadFile(filepath.Join("testdata", "home.json"))

	_, resp, out := coldStart(t, bin, env, event)
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, "Sign in") || strings.Contains(out, theSecret) {
		t.Errorf("home: %d\n%s", resp.StatusCode, out)
	}

	// A truncated event fails that invocation (the runtime reports it to
	// Lambda), not the process.
	_, resp, out = coldStart(t, bin, env, event[:len(event)/2])
	if resp.StatusCode != 0 || !strings.HasPrefix(out, "ERROR ") {
		t.Errorf("truncated event: answered %d, reported %q", resp.StatusCode, out)
	}

	env["PORTAL_CLIENT_SECRET_PARAMETER"] = "/missing"
	_, _, out = coldStart(t, bin, env, event)
	lines := slices.DeleteFunc(strings.Split(strings.TrimSpace(out), "\n"), func(s string) bool { return strings.HasPrefix(s, "exited:") })
	if len(lines) != 1 || !strings.Contains(lines[0], `PORTAL_CLIENT_SECRET_PARAMETER: parameter \"/missing\" does not exist`) || !strings.Contains(out, "exit status 1") {
		t.Errorf("missing parameter: want exit 1 and one line naming the variable, got:\n%s", out)
	}
}

// BenchmarkColdStart is process start to the first rendered home page of
// the built function under a Runtime API emulator, with its sessions on
// dynalite and its secret from the SSM stand-in. It reports the median.
func BenchmarkColdStart(b *testing.B) {
	bin := buildFunction(b)
	ssmURL, _ := ssmStandIn(b, map[string]string{"/usersvc/portal/client-secret": theSecret})
	env := environment(b, ssmURL, newTable(b))
	event, _ := os.ReadFile(filepath.Join("testdata", "home.json"))
	var took []time.Duration
	for b.Loop() {
		d, resp, out := coldStart(b, bin, env, event)
		if resp.StatusCode != 200 {
			b.Fatalf("home: %d\n%s", resp.StatusCode, out)
		}
		took = append(took, d)
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "ms-median")
}
