package lambdahttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/usersvc/usersvc/web/portal/lambdahttp"
)

// seen is what the echo handler saw of its request.
type seen struct {
	Method     string              `json:"method"`
	Host       string              `json:"host"`
	Path       string              `json:"path"`
	RawQuery   string              `json:"raw_query"`
	Query      map[string][]string `json:"query"`
	Form       map[string][]string `json:"form"`
	Cookies    map[string]string   `json:"cookies"`
	CookieHdr  int                 `json:"cookie_headers"`
	Header     map[string][]string `json:"header"`
	RemoteAddr string              `json:"remote_addr"`
	Scheme     string              `json:"scheme"`
}

func testHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		s := seen{Method: r.Method, Host: r.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Query: r.URL.Query(),
			Cookies: map[string]string{}, Header: r.Header, RemoteAddr: r.RemoteAddr, Scheme: r.URL.Scheme}
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			s.Form = r.PostForm
		}
		for _, c := range r.Cookies() {
			s.Cookies[c.Name] = c.Value
		}
		s.CookieHdr = len(r.Header.Values("Cookie"))
		http.SetCookie(w, &http.Cookie{Name: "a", Value: "1", Path: "/", HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
		http.SetCookie(w, &http.Cookie{Name: "b", Value: "2", Path: "/", MaxAge: -1})
		w.Header().Add("Vary", "Cookie")
		w.Header().Add("Vary", "Accept")
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusSeeOther)
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		chunk := bytes.Repeat([]byte("<p>row</p>\n"), 1<<10)
		for range 7 << 20 / len(chunk) {
			w.Write(chunk)
		}
	})
	mux.HandleFunc("/silent", func(w http.ResponseWriter, r *http.Request) {})
	return mux
}

func loadEvent(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev
}

func call(t *testing.T, name string) (events.APIGatewayV2HTTPResponse, seen) {
	t.Helper()
	h := lambdahttp.New(testHandler(), nil)
	resp, err := h(t.Context(), loadEvent(t, name))
	if err != nil {
		t.Fatalf("%s: invocation failed: %v", name, err)
	}
	var s seen
	if resp.StatusCode == 200 && resp.Body != "" && resp.Headers["Content-Type"] == "application/json" {
		if err := json.Unmarshal([]byte(resp.Body), &s); err != nil {
			t.Fatalf("%s: echo body: %v\n%s", name, err, resp.Body)
		}
	}
	return resp, s
}

func TestCookies(t *testing.T) {
	resp, s := call(t, "cookies.json")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	want := map[string]string{"__Host-portal-session": "abc123", "theme": "dark", "x": "1=2"}
	for k, v := range want {
		if s.Cookies[k] != v {
			t.Errorf("cookie %s = %q, want %q (saw %v)", k, s.Cookies[k], v, s.Cookies)
		}
	}
	// Every Set-Cookie is its own element of cookies, none a header.
	if len(resp.Cookies) != 2 || !strings.HasPrefix(resp.Cookies[0], "a=1; Path=/; HttpOnly; Secure; SameSite=Lax") || !strings.HasPrefix(resp.Cookies[1], "b=2; Path=/; Max-Age=0") {
		t.Errorf("response cookies %q", resp.Cookies)
	}
	for k := range resp.Headers {
		if strings.EqualFold(k, "Set-Cookie") {
			t.Errorf("Set-Cookie left as a header: %q", resp.Headers[k])
		}
	}
	if resp.Headers["Vary"] != "Cookie,Accept" {
		t.Errorf("repeated response header Vary = %q", resp.Headers["Vary"])
	}
}

func TestRawQueryString(t *testing.T) {
	_, s := call(t, "query.json")
	if s.RawQuery != "UserId=a%20b&tag=x&tag=y&empty=" || s.Query["UserId"][0] != "a b" || !slices.Equal(s.Query["tag"], []string{"x", "y"}) || len(s.Query["empty"]) != 1 {
		t.Errorf("query: raw %q, parsed %v", s.RawQuery, s.Query)
	}
}

func TestBase64Form(t *testing.T) {
	resp, s := call(t, "form_base64.json")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	if s.Method != "POST" || s.Form["UserId"][0] != "ada" || s.Form["value"][0] != "36" || s.Form["Attributes"][0] != "{}" {
		t.Errorf("form %v", s.Form)
	}
}

func TestRepeatedHeaders(t *testing.T) {
	_, s := call(t, "repeated_headers.json")
	if got := s.Header["X-Custom"]; !slices.Equal(got, []string{"one", "two"}) {
		t.Errorf("X-Custom %q, want [one two]", got)
	}
	if got := s.Header["User-Agent"]; !slices.Equal(got, []string{"Mozilla/5.0"}) {
		t.Errorf("User-Agent %q", got)
	}
}

func TestHostProtoSourceIP(t *testing.T) {
	_, s := call(t, "forwarded.json")
	if s.Host != "portal.example.com" || s.Scheme != "https" || s.RemoteAddr != "198.51.100.23" || s.Header["X-Forwarded-Proto"][0] != "https" {
		t.Errorf("host %q scheme %q remote %q proto %v", s.Host, s.Scheme, s.RemoteAddr, s.Header["X-Forwarded-Proto"])
	}
	if _, ok := s.Header["Host"]; ok {
		t.Error("Host left among the headers")
	}
	// A local gateway's domainName has no port; the Host header has.
	ev := loadEvent(t, "forwarded.json")
	ev.Headers["host"] = "localhost:8080"
	ev.RequestContext.DomainName = "localhost"
	resp, err := lambdahttp.New(testHandler(), nil)(t.Context(), ev)
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal([]byte(resp.Body), &s)
	if s.Host != "localhost:8080" {
		t.Errorf("host %q, want the Host header's localhost:8080", s.Host)
	}
}

func TestHead(t *testing.T) {
	resp, _ := call(t, "head.json")
	if resp.StatusCode != 200 || resp.Body != "" || len(resp.Cookies) != 2 || resp.Headers["Content-Type"] != "application/json" {
		t.Errorf("HEAD: %d, body %d bytes, cookies %q, headers %v", resp.StatusCode, len(resp.Body), resp.Cookies, resp.Headers)
	}
}

func TestRedirect(t *testing.T) {
	resp, _ := call(t, "redirect.json")
	if resp.StatusCode != http.StatusSeeOther || resp.Headers["Location"] != "/user?UserId=ada" {
		t.Errorf("redirect: %d to %q", resp.StatusCode, resp.Headers["Location"])
	}
}

func TestTooLarge(t *testing.T) {
	resp, _ := call(t, "huge.json")
	if resp.StatusCode != 500 || !strings.Contains(resp.Body, "too large") || len(resp.Body) > 1000 {
		t.Errorf("huge response: %d, %d bytes: %.200s", resp.StatusCode, len(resp.Body), resp.Body)
	}
}

func TestSilentHandler(t *testing.T) {
	ev := loadEvent(t, "head.json")
	ev.RequestContext.HTTP.Method, ev.RawPath = "GET", "/silent"
	resp, err := lambdahttp.New(testHandler(), nil)(t.Context(), ev)
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("a handler that writes nothing: %d, %v", resp.StatusCode, err)
	}
}

// TestBadEvents: events that are no request are answered 400 (or, when
// they are not even an event, fail the invocation with an error), never a
// panic.
func TestBadEvents(t *testing.T) {
	for _, name := range []string{"bad_base64.json", "bad_path.json"} {
		resp, _ := call(t, name)
		if resp.StatusCode != 400 || !strings.HasPrefix(resp.Body, "Bad request") {
			t.Errorf("%s: %d %q", name, resp.StatusCode, resp.Body)
		}
	}
	ev := loadEvent(t, "head.json")
	ev.RequestContext.HTTP.Method = "GE T"
	if resp, _ := lambdahttp.New(testHandler(), nil)(t.Context(), ev); resp.StatusCode != 400 {
		t.Errorf("bad method: %d", resp.StatusCode)
	}
	// Through the Lambda runtime's own decoding, as lambda.Start runs it.
	h := lambda.NewHandler(lambdahttp.New(testHandler(), nil))
	for _, name := range []string{"truncated.json", "garbage.json"} {
		b, _ := os.ReadFile(filepath.Join("testdata", name))
		if _, err := h.Invoke(context.Background(), b); err == nil {
			t.Errorf("%s: invocation succeeded", name)
		}
	}
	if out, err := h.Invoke(context.Background(), []byte(`{}`)); err != nil || !bytes.Contains(out, []byte(`"statusCode":400`)) {
		t.Errorf("empty event: %s, %v", out, err)
	}
}

func FuzzEvent(f *testing.F) {
	entries, _ := os.ReadDir("testdata")
	for _, e := range entries {
		if !e.IsDir() {
			b, _ := os.ReadFile(filepath.Join("testdata", e.Name()))
			f.Add(b)
		}
	}
	h := lambda.NewHandler(lambdahttp.New(testHandler(), nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := h.Invoke(context.Background(), b)
		if err != nil {
			return // not an event: the runtime reports it
		}
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode < 200 || resp.StatusCode > 599 {
			t.Fatalf("response %s: %v", out, err)
		}
	})
}
