package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// What every DynamoDB adapter of the project shares (this store and the
// portal's sessions): which failures mean "try again later", and how a
// local server gets its table.

// throttlingCodes are the error codes with which DynamoDB sheds load. The SDK
// retries them itself; when they still come back, the table is over its
// capacity for now.
var throttlingCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"ThrottlingException":                    true,
	"RequestLimitExceeded":                   true,
}

// Unavailable reports whether err, returned after the SDK's own retries,
// means DynamoDB cannot serve now rather than that the request is wrong:
// throttling, a server error (5xx), or no answer at all. Callers turn it
// into 503 with Retry-After.
func Unavailable(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && throttlingCodes[apiErr.ErrorCode()] {
		return true
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && status.HTTPStatusCode() >= 500 {
		return true
	}
	var send *smithyhttp.RequestSendError
	return errors.As(err, &send)
}

// CreateTable creates table, on demand with the string partition key key,
// unless it exists, and waits until it is ACTIVE; created reports whether
// this call created it. It is for local servers (dynalite, DynamoDB Local)
// and tests: in AWS the tables belong to the Terraform module, and no
// function's role may create one.
func CreateTable(ctx context.Context, client *dynamodb.Client, table, key string) (created bool, err error) {
	_, err = client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	var notFound *types.ResourceNotFoundException
	switch {
	case err == nil:
		// It exists; it may still be CREATING, so wait below.
	case errors.As(err, &notFound):
		_, err = client.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            aws.String(table),
			BillingMode:          types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(key), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(key), KeyType: types.KeyTypeHash}},
		})
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) { // in use: someone else just created it
			return false, fmt.Errorf("create table %s: %w", table, err)
		}
		created = err == nil
	default:
		return false, fmt.Errorf("describe table %s: %w", table, err)
	}
	w := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		// Local servers create tables in well under a second.
		o.MinDelay = 20 * time.Millisecond
		o.MaxDelay = time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, 2*time.Minute); err != nil {
		return created, fmt.Errorf("wait for table %s: %w", table, err)
	}
	return created, nil
}
