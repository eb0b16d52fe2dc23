package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/api/bolt"
	"github.com/usersvc/usersvc/api/gateway"
	"github.com/usersvc/usersvc/api/gateway/internal/testissuer"
)

// seededGateway is the user service on an embedded store holding one user,
// behind the gateway, with a valid token for it and the keys already
// fetched.
func seededGateway(b *testing.B, accessLog io.Writer) (*gateway.Gateway, string) {
	b.Helper()
	iss := testissuer.New(b)
	store, err := bolt.Open(filepath.Join(b.TempDir(), "users.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	item, err := api.ParseCreateBody([]byte(`{"User":{"UserId":"ana-01","Name":"Ana","Age":42}}`))
	if err != nil {
		b.Fatal(err)
	}
	if err := store.CreateUser(context.Background(), item); err != nil {
		b.Fatal(err)
	}
	handlers := api.New(store, slog.New(slog.DiscardHandler))
	gw, err := gateway.New(gateway.Config{
		Routes:     api.Routes,
		Handler:    handlers.Handler,
		Issuer:     iss.URL,
		Audience:   []string{"portal"},
		HTTPClient: iss.Client(),
		AccessLog:  accessLog,
	})
	if err != nil {
		b.Fatal(err)
	}
	token := "Bearer " + iss.Sign(b, iss.IDToken(alice, "portal", time.Now()))
	warm := httptest.NewRequest("GET", "/user?UserId=ana-01", nil)
	warm.Header.Set("Authorization", token)
	w := httptest.NewRecorder()
	gw.ServeHTTP(w, warm)
	if w.Code != 200 {
		b.Fatalf("warm-up: %d %s", w.Code, w.Body)
	}
	return gw, token
}

// BenchmarkGetUser measures the gateway in-process on an authorized
// GET /user: authorizer (RS256 verify), event, JSON invoke through
// aws-lambda-go, the handler on the embedded store, and the response.
// Run with -cpu 1 for the one-core figure.
func BenchmarkGetUser(b *testing.B) {
	gw, token := seededGateway(b, io.Discard)
	r := httptest.NewRequest("GET", "/user?UserId=ana-01", nil)
	r.Header.Set("Authorization", token)
	b.ReportAllocs()
	cpu0 := processCPU()
	w := &benchWriter{h: http.Header{}}
	for b.Loop() {
		clear(w.h)
		w.status = 0
		gw.ServeHTTP(w, r)
		if w.status != 200 {
			b.Fatalf("status %d", w.status)
		}
	}
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkGetUserLoopback is a small load generator: parallel keep-alive
// clients sending authorized GET /user to the gateway served over
// loopback, as "portal api" serves it (access log included, to a writer
// that drops it). It reports requests per second and the p50 and p99
// latency.
func BenchmarkGetUserLoopback(b *testing.B) {
	gw, token := seededGateway(b, dropWriter{})
	srv := httptest.NewServer(gw)
	defer srv.Close()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()

	var mu sync.Mutex
	var all []time.Duration
	b.SetParallelism(16)
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	b.RunParallel(func(pb *testing.PB) {
		lat := make([]time.Duration, 0, 1024)
		req, _ := http.NewRequest("GET", srv.URL+"/user?UserId=ana-01", nil)
		req.Header.Set("Authorization", token)
		for pb.Next() {
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
			lat = append(lat, time.Since(t0))
		}
		mu.Lock()
		all = append(all, lat...)
		mu.Unlock()
	})
	elapsed, cpu := time.Since(start), processCPU()-cpu0
	b.StopTimer()
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
	// Server and load generator share the machine: CPU per request covers
	// both.
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(all)), "cpu-µs/req")
}

// BenchmarkLambdaInvokeOnly is the share of BenchmarkGetUser that is not
// the gateway's: aws-lambda-go decoding a GET /user event (the golden
// fixture) into events.APIGatewayV2HTTPRequest and encoding a small
// response, around a handler that does nothing. Lambda pays it too.
func BenchmarkLambdaInvokeOnly(b *testing.B) {
	payload, err := os.ReadFile(filepath.Join("testdata", "events", "get_user.json"))
	if err != nil {
		b.Fatal(err)
	}
	h := lambda.NewHandler(func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"UserId":"ana-01"}`}, nil
	})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Invoke(context.Background(), payload); err != nil {
			b.Fatal(err)
		}
	}
}

// dropWriter drops what is written to it; unlike io.Discard, the gateway
// still formats its access log lines for it.
type dropWriter struct{}

func (dropWriter) Write(p []byte) (int, error) { return len(p), nil }

// benchWriter is a reusable http.ResponseWriter, so that BenchmarkGetUser
// measures the gateway rather than httptest.ResponseRecorder; net/http's
// own writer is pooled in the same way.
type benchWriter struct {
	h      http.Header
	status int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) WriteHeader(status int)      { w.status = status }
func (w *benchWriter) Write(b []byte) (int, error) { return len(b), nil }
