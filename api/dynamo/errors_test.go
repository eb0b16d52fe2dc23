package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/usersvc/usersvc/api"
)

// fakeDynamoDB answers every request with status and a DynamoDB error of
// type code (none when code is ""), and counts the requests.
func fakeDynamoDB(t *testing.T, status int, code string) (url string, requests *atomic.Int64) {
	t.Helper()
	requests = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(status)
		if code != "" {
			_ = json.NewEncoder(w).Encode(map[string]string{
				"__type":  "com.amazonaws.dynamodb.v20120810#" + code,
				"message": "fake " + code,
			})
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, requests
}

// fastRetries keeps the SDK's retry policy for DynamoDB (its attempts and
// which errors it retries) but caps the backoff, so that the test measures
// the bound without sleeping through it.
func fastRetries(o *dynamodb.Options) {
	o.Retryer = retry.AddWithMaxBackoffDelay(o.Retryer, time.Millisecond)
}

// The SDK's default for DynamoDB: one attempt and three retries.
const sdkAttempts = 4

var operations = []struct {
	name string
	call func(context.Context, *Store) error
}{
	{"GetUser", func(ctx context.Context, s *Store) error { _, err := s.GetUser(ctx, "u1"); return err }},
	{"CreateUser", func(ctx context.Context, s *Store) error { return s.CreateUser(ctx, api.Item{"UserId": "u1"}) }},
	{"ListUsers", func(ctx context.Context, s *Store) error {
		_, err := s.ListUsers(ctx, api.ListQuery{Limit: 10})
		return err
	}},
	{"ListUsersCreatedBy", func(ctx context.Context, s *Store) error {
		_, err := s.ListUsers(ctx, api.ListQuery{Limit: 10, CreatedBy: "sub"})
		return err
	}},
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		code     string
		want     error // nil: neither unavailable nor any other api error
		attempts int64
	}{
		{"throttled by provisioned throughput", 400, "ProvisionedThroughputExceededException", api.ErrUnavailable, sdkAttempts},
		{"throttled", 400, "ThrottlingException", api.ErrUnavailable, sdkAttempts},
		{"account request limit", 400, "RequestLimitExceeded", api.ErrUnavailable, sdkAttempts},
		{"internal server error", 500, "InternalServerError", api.ErrUnavailable, sdkAttempts},
		{"service unavailable without a body", 503, "", api.ErrUnavailable, sdkAttempts},
		{"bad gateway", 502, "", api.ErrUnavailable, sdkAttempts},
		{"validation error", 400, "ValidationException", nil, 1},
		{"missing table", 400, "ResourceNotFoundException", nil, 1},
		{"access denied", 400, "AccessDeniedException", nil, 1},
	}
	for _, tt := range tests {
		for _, op := range operations {
			t.Run(tt.name+"/"+op.name, func(t *testing.T) {
				url, requests := fakeDynamoDB(t, tt.status, tt.code)
				s := New(testClient(url, fastRetries), "AppDummy", slog.New(slog.DiscardHandler))
				err := op.call(t.Context(), s)
				if err == nil {
					t.Fatal("no error")
				}
				if got := requests.Load(); got != tt.attempts {
					t.Errorf("%d requests, want %d", got, tt.attempts)
				}
				for _, e := range []error{api.ErrUnavailable, api.ErrNotFound, api.ErrExists} {
					if errors.Is(err, e) != (e == tt.want) {
						t.Errorf("errors.Is(%v, %v) = %v", err, e, !(e == tt.want))
					}
				}
				if tt.code != "" && !strings.Contains(err.Error(), tt.code) {
					t.Errorf("error %q lost the SDK's error code", err)
				}
				if !strings.HasPrefix(err.Error(), strings.ToLower(op.name[:3])) {
					t.Errorf("error %q does not say which operation failed", err)
				}
			})
		}
	}
}

func TestConditionalCheckFailedIsExists(t *testing.T) {
	url, requests := fakeDynamoDB(t, 400, "ConditionalCheckFailedException")
	s := New(testClient(url, fastRetries), "AppDummy", slog.New(slog.DiscardHandler))
	err := s.CreateUser(t.Context(), api.Item{"UserId": "u1"})
	if !errors.Is(err, api.ErrExists) || errors.Is(err, api.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrExists", err)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("%d requests, want 1: a failed condition is an answer, not a fault", n)
	}
}

func TestUnreachableIsUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	s := New(testClient(url, fastRetries), "AppDummy", slog.New(slog.DiscardHandler))
	for _, op := range operations {
		if err := op.call(t.Context(), s); !errors.Is(err, api.ErrUnavailable) {
			t.Errorf("%s: err = %v, want ErrUnavailable", op.name, err)
		}
	}
}

// A request whose caller has gone is not the store's failure: no 503.
func TestCancelledIsNotUnavailable(t *testing.T) {
	url, _ := fakeDynamoDB(t, 500, "InternalServerError")
	s := New(testClient(url, fastRetries), "AppDummy", slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, op := range operations {
		err := op.call(ctx, s)
		if err == nil || errors.Is(err, api.ErrUnavailable) {
			t.Errorf("%s: err = %v, want a non-unavailable error", op.name, err)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err = %v, want it to wrap context.Canceled", op.name, err)
		}
	}
}

func TestListUsersRejectsBadLimit(t *testing.T) {
	url, requests := fakeDynamoDB(t, 500, "")
	s := New(testClient(url), "AppDummy", slog.New(slog.DiscardHandler))
	for _, limit := range []int{0, -1} {
		if _, err := s.ListUsers(t.Context(), api.ListQuery{Limit: limit, CreatedBy: "sub"}); err == nil {
			t.Errorf("filtered ListUsers(%d) succeeded", limit)
		}
		if _, err := s.ListUsers(t.Context(), api.ListQuery{Limit: limit}); err == nil {
			t.Errorf("ListUsers(%d) succeeded", limit)
		}
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests for invalid limits", n)
	}
}

// NewFromEnv takes the table from TABLE_NAME and everything else from the
// SDK's standard environment, the endpoint included.
func TestNewFromEnv(t *testing.T) {
	type seen struct{ target, table, auth string }
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var in struct{ TableName string }
		_ = json.Unmarshal(body, &in)
		select {
		case got <- seen{r.Header.Get("X-Amz-Target"), in.TableName, r.Header.Get("Authorization")}:
		default:
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = io.WriteString(w, `{}`)
	}))
	defer srv.Close()

	// Keep the developer's own AWS configuration out of the test.
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "eu-west-3")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", srv.URL)

	for _, tt := range []struct{ env, want string }{{"Users-dev", "Users-dev"}, {"", DefaultTable}} {
		getenv := func(k string) string {
			if k == "TABLE_NAME" {
				return tt.env
			}
			return ""
		}
		s, err := NewFromEnv(t.Context(), getenv, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if s.Table() != tt.want {
			t.Errorf("TABLE_NAME=%q: table %q, want %q", tt.env, s.Table(), tt.want)
		}
		if _, err := s.GetUser(t.Context(), "u1"); !errors.Is(err, api.ErrNotFound) {
			t.Fatalf("GetUser: %v, want ErrNotFound from the fake", err)
		}
		req := <-got
		if req.target != "DynamoDB_20120810.GetItem" || req.table != tt.want {
			t.Errorf("request %q on table %q, want GetItem on %q", req.target, req.table, tt.want)
		}
		if !strings.Contains(req.auth, "AKIDTEST/") || !strings.Contains(req.auth, "/eu-west-3/dynamodb/") {
			t.Errorf("request not signed with the environment's credentials and region: %q", req.auth)
		}
	}
}

// A create whose response was lost is retried by the SDK and then meets its
// own item: that is a success. Someone else's item is still ErrExists.
func TestCreateRetryMeetsOwnItem(t *testing.T) {
	mine := api.Item{"UserId": "u1", "N": json.Number("12345678901234567890.123"), "L": []any{nil, true}, "CreatedAt": "2026-01-02T03:04:05.678Z"}
	theirs := api.Item{"UserId": "u1", "N": json.Number("1"), "L": []any{nil, true}, "CreatedAt": "2026-01-02T03:04:05.679Z"}
	for _, tt := range []struct {
		name   string
		stored api.Item
		want   error
	}{
		{"own item", mine, nil},
		{"another item", theirs, api.ErrExists},
	} {
		t.Run(tt.name, func(t *testing.T) {
			av, err := marshalItem(tt.stored)
			if err != nil {
				t.Fatal(err)
			}
			conflict, err := json.Marshal(map[string]any{
				"__type":  "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
				"message": "The conditional request failed",
				"Item":    toWire(av),
			})
			if err != nil {
				t.Fatal(err)
			}
			var requests atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var in struct{ ReturnValuesOnConditionCheckFailure string }
				_ = json.NewDecoder(r.Body).Decode(&in)
				if in.ReturnValuesOnConditionCheckFailure != "ALL_OLD" {
					t.Errorf("PutItem does not ask for the item in the way: %q", in.ReturnValuesOnConditionCheckFailure)
				}
				w.Header().Set("Content-Type", "application/x-amz-json-1.0")
				if requests.Add(1) == 1 {
					// The write went through, but its answer did not.
					w.WriteHeader(http.StatusInternalServerError)
					return
				}
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write(conflict)
			}))
			defer srv.Close()
			s := New(testClient(srv.URL, fastRetries), "AppDummy", slog.New(slog.DiscardHandler))
			err = s.CreateUser(t.Context(), mine)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("CreateUser = %v, want %v", err, tt.want)
			}
			if n := requests.Load(); n != 2 {
				t.Errorf("%d requests, want 2", n)
			}
		})
	}
}
