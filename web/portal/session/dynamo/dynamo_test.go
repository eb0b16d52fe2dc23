package dynamo_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/usersvc/usersvc/api/dynamo/dynalite"
	"github.com/usersvc/usersvc/web/portal/session"
	"github.com/usersvc/usersvc/web/portal/session/dynamo"
	"github.com/usersvc/usersvc/web/portal/session/sessiontest"
)

func TestMain(m *testing.M) { dynalite.Main(m) }

var tables atomic.Int64

func client(endpoint string, opts ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, opts...)
}

func newStore(t *testing.T) (*dynamo.Store, *dynamodb.Client) {
	t.Helper()
	c := client(dynalite.URL(t))
	s := dynamo.New(c, fmt.Sprintf("sessions-%d", tables.Add(1)))
	if err := s.EnsureTable(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(s.Table())})
	})
	return s, c
}

func TestContract(t *testing.T) {
	sessiontest.Run(t, func(t *testing.T) sessiontest.Store { s, _ := newStore(t); return s })
}

// TestItemShape: the table holds the SHA-256 of the id, never the id, and
// the TTL attribute as epoch seconds.
func TestItemShape(t *testing.T) {
	s, c := newStore(t)
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	sess := &session.Session{Expires: exp, Tokens: &session.Tokens{RefreshToken: "rt"}}
	if err := s.Create(t.Context(), sess); err != nil {
		t.Fatal(err)
	}
	out, err := c.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(s.Table())})
	if err != nil || len(out.Items) != 1 {
		t.Fatalf("scan: %v, %d items", err, len(out.Items))
	}
	it := out.Items[0]
	sum := sha256.Sum256([]byte(sess.ID))
	if id := it["id"].(*types.AttributeValueMemberS).Value; id != hex.EncodeToString(sum[:]) {
		t.Errorf("id %q, want the hex SHA-256 of the session id", id)
	}
	if n, ok := it["expires_at"].(*types.AttributeValueMemberN); !ok || n.Value != fmt.Sprint(exp.Unix()) {
		t.Errorf("expires_at %#v, want N %d", it["expires_at"], exp.Unix())
	}
	raw, _ := json.Marshal(out.Items)
	if strings.Contains(string(raw), sess.ID) {
		t.Error("the session id itself is stored")
	}
}

// TestUnavailable: throttling, server errors and an unreachable endpoint
// are session.ErrUnavailable, after the SDK's retries; a refused request
// (bad table) is not.
func TestUnavailable(t *testing.T) {
	fake := func(status int, code string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.WriteHeader(status)
			if code != "" {
				json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#" + code, "message": "fake"})
			}
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	closed := httptest.NewServer(nil)
	closed.Close()
	fast := func(o *dynamodb.Options) { o.Retryer = retry.AddWithMaxBackoffDelay(o.Retryer, time.Millisecond) }
	for _, tt := range []struct {
		name     string
		endpoint string
		want     bool
	}{
		{"throttled", fake(400, "ThrottlingException"), true},
		{"over provisioned throughput", fake(400, "ProvisionedThroughputExceededException"), true},
		{"internal error", fake(500, "InternalServerError"), true},
		{"down", closed.URL, true},
		{"no such table", fake(400, "ResourceNotFoundException"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := dynamo.New(client(tt.endpoint, fast), "sessions")
			_, err := s.Get(t.Context(), session.NewID())
			if err == nil || errors.Is(err, session.ErrUnavailable) != tt.want {
				t.Errorf("Get: %v; unavailable %v, want %v", err, errors.Is(err, session.ErrUnavailable), tt.want)
			}
			err = s.Create(t.Context(), &session.Session{})
			if err == nil || errors.Is(err, session.ErrUnavailable) != tt.want {
				t.Errorf("Create: %v", err)
			}
			_, err = s.Update(t.Context(), &session.Session{ID: session.NewID(), Version: 1}, func(*session.Session) error { return nil })
			if err == nil || errors.Is(err, session.ErrUnavailable) != tt.want {
				t.Errorf("Update: %v", err)
			}
		})
	}
}

func TestSharedKey(t *testing.T) {
	s, _ := newStore(t)
	a, err := s.SharedKey(t.Context(), "state")
	if err != nil || len(a) != 32 {
		t.Fatalf("SharedKey: %x, %v", a, err)
	}
	other := dynamo.New(client(dynalite.URL(t)), s.Table())
	b, err := other.SharedKey(t.Context(), "state")
	if err != nil || string(a) != string(b) {
		t.Errorf("a second instance got another key: %v", err)
	}
	c, _ := s.SharedKey(t.Context(), "other")
	if string(c) == string(a) {
		t.Error("two names share a key")
	}
}

// writeCounter counts the writes DynamoDB accepted (a conditional write
// it refused writes nothing).
type writeCounter struct{ writes atomic.Int64 }

func (c *writeCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusOK && strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".PutItem") {
		c.writes.Add(1)
	}
	return resp, err
}

// TestSeenRaceWritesOnce: two page views of one browser in the same
// minute both read the session before either records its use, as the
// portal's Seen update does (once a minute at most). The loser of the race
// reads the winner's session, on which its change is no longer needed, and
// writes nothing: one write in all.
func TestSeenRaceWritesOnce(t *testing.T) {
	s, _ := newStore(t)
	counter := &writeCounter{}
	counted := dynamo.New(client(dynalite.URL(t), func(o *dynamodb.Options) { o.HTTPClient = &http.Client{Transport: counter} }), s.Table())
	sess := &session.Session{Created: time.Now(), Seen: time.Now().Add(-2 * time.Minute), Expires: time.Now().Add(time.Hour)}
	if err := s.Create(t.Context(), sess); err != nil {
		t.Fatal(err)
	}
	a, err := counted.Get(t.Context(), sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := counted.Get(t.Context(), sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	seen := func(now time.Time) func(*session.Session) error {
		return func(x *session.Session) error {
			if now.Sub(x.Seen) < time.Minute {
				return nil // recorded meanwhile
			}
			x.Seen = now
			return nil
		}
	}
	now := time.Now().Truncate(time.Second)
	errs := make(chan error, 2)
	for i, read := range []*session.Session{a, b} {
		go func() {
			_, err := counted.Update(t.Context(), read, seen(now.Add(time.Duration(i)*time.Second)))
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := counter.writes.Load(); n != 1 {
		t.Errorf("%d writes for two page views in the same minute, want 1", n)
	}
	got, err := s.Get(t.Context(), sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Seen.Before(now) || got.Seen.Sub(now) > time.Second || got.Version != 2 {
		t.Errorf("stored: seen %v (want one of the two views', from %v), version %d (want 2)", got.Seen, now, got.Version)
	}
}

// cancelOnRefusal cancels a request's context as soon as DynamoDB refuses
// a conditional write, as a client that goes away at that moment would,
// and counts the requests sent after that.
type cancelOnRefusal struct {
	cancel context.CancelFunc
	after  atomic.Int64
	done   atomic.Bool
}

func (c *cancelOnRefusal) RoundTrip(r *http.Request) (*http.Response, error) {
	if c.done.Load() {
		c.after.Add(1)
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusBadRequest && strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".PutItem") {
		c.done.Store(true)
		c.cancel()
	}
	return resp, err
}

// TestUpdateStopsWhenCancelled: an Update that lost a race, of a request
// given up on meanwhile, stops at once: no read again, no write.
func TestUpdateStopsWhenCancelled(t *testing.T) {
	s, _ := newStore(t)
	sess := &session.Session{Created: time.Now(), Seen: time.Now(), Expires: time.Now().Add(time.Hour)}
	if err := s.Create(t.Context(), sess); err != nil {
		t.Fatal(err)
	}
	stale, err := s.Get(t.Context(), sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(t.Context(), stale, func(x *session.Session) error { x.Flash = "first"; return nil }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	tr := &cancelOnRefusal{cancel: cancel}
	gone := dynamo.New(client(dynalite.URL(t), func(o *dynamodb.Options) { o.HTTPClient = &http.Client{Transport: tr} }), s.Table())
	_, err = gone.Update(ctx, stale, func(x *session.Session) error { x.Flash = "second"; return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update: %v, want the context's cancellation", err)
	}
	if n := tr.after.Load(); n != 0 {
		t.Errorf("%d requests sent after the request was given up on", n)
	}
}
