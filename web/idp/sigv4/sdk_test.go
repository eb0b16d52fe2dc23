package sigv4

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go"
)

// TestSDKClient sends requests through a whole aws-sdk-go-v2 service
// client (its middleware adds headers of its own before signing) to a
// JSON-protocol endpoint guarded by Verify, and checks that its refusals
// come back to the SDK as the typed API errors AWS's would. DynamoDB's
// client stands in for Cognito's: the same protocol, another signing name.
func TestSDKClient(t *testing.T) {
	v, err := New(testCreds, Options{Service: "dynamodb"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if err := v.Verify(r, body); err != nil {
			var e *Error
			errors.As(err, &e)
			w.Header().Set("X-Amzn-ErrorType", e.Type)
			w.WriteHeader(e.Status)
			fmt.Fprintf(w, `{"__type":%q,"message":%q}`, "com.amazonaws.dynamodb.v20120810#"+e.Type, e.Message)
			return
		}
		fmt.Fprint(w, `{"TableNames":[]}`)
	}))
	defer srv.Close()

	client := func(id, secret, token string) *dynamodb.Client {
		return dynamodb.New(dynamodb.Options{
			Region:           "eu-west-1",
			BaseEndpoint:     aws.String(srv.URL),
			Credentials:      credentials.NewStaticCredentialsProvider(id, secret, token),
			RetryMaxAttempts: 1,
			HTTPClient:       srv.Client(),
		})
	}
	for _, tc := range []struct {
		name              string
		id, secret, token string
		code              string
	}{
		{"right key pair", testCreds.AccessKeyID, testCreds.SecretAccessKey, "", ""},
		{"wrong secret", testCreds.AccessKeyID, "wrong", "", TypeInvalidSignature},
		{"unknown key", "AKIAIOSFODNN7EXAMPLE", testCreds.SecretAccessKey, "", TypeUnrecognizedClient},
		{"session token", testCreds.AccessKeyID, testCreds.SecretAccessKey, "token", TypeUnrecognizedClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client(tc.id, tc.secret, tc.token).ListTables(context.Background(), &dynamodb.ListTablesInput{})
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != tc.code {
				t.Fatalf("ListTables = %v, want the API error %s", err, tc.code)
			}
		})
	}
}
