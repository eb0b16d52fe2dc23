package dynamo

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/usersvc/usersvc/api/dynamo/dynalite"
)

// One dynalite (package dynalite) serves the whole test binary; every
// store gets its own table.
var tables atomic.Int64

func TestMain(m *testing.M) { dynalite.Main(m) }

// needDynalite skips the test when dynalite is not running, unless CI=true,
// where the DynamoDB tests are mandatory.
func needDynalite(tb testing.TB) {
	tb.Helper()
	dynalite.URL(tb)
}

// testClient returns a client of endpoint with dummy credentials, as a local
// DynamoDB accepts any.
func testClient(endpoint string, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	opts := dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	}
	return dynamodb.New(opts, optFns...)
}

// newTestStore returns a Store on a new, empty table in the shared dynalite.
func newTestStore(tb testing.TB) *Store {
	tb.Helper()
	needDynalite(tb)
	table := fmt.Sprintf("test-%d", tables.Add(1))
	s := New(testClient(dynalite.URL(tb)), table, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.EnsureTable(ctx); err != nil {
		tb.Fatalf("ensure table: %v", err)
	}
	tb.Cleanup(func() {
		// Dropping the table keeps dynalite's memory flat over a long run.
		_, _ = s.client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	return s
}
