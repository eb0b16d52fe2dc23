// Package dynamo is the api.Store kept in a DynamoDB table, the store the
// Lambda functions use.
//
// The table has one key, the partition key UserId of type S, as the seed's
// table does. Items are written with the attribute types boto3 gives a
// parsed JSON body, so the seed's Python functions and this store can share
// a table (see attr.go for the conversion rules).
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/usersvc/usersvc/api"
)

// DefaultTable is the table used when TABLE_NAME is not set: the seed's.
const DefaultTable = "AppDummy"

// Store is an api.Store on one DynamoDB table. It is safe for concurrent
// use, as the SDK client is.
type Store struct {
	client *dynamodb.Client
	table  string
	log    *slog.Logger

	// The bounds of a filtered page; tests lower them.
	maxFilteredScans int
	maxScanBatch     int
}

var _ api.Store = (*Store)(nil)

// New returns a Store on table, reached through client.
func New(client *dynamodb.Client, table string, log *slog.Logger) *Store {
	return &Store{client: client, table: table, log: log, maxFilteredScans: maxFilteredScans, maxScanBatch: maxScanBatch}
}

// NewFromEnv returns a Store configured the way the Lambda functions are:
// the table from TABLE_NAME (read with getenv; DefaultTable when unset), and
// everything else from the AWS SDK's standard configuration, which reads the
// process environment and shared config files itself: AWS_REGION,
// credentials, and AWS_ENDPOINT_URL_DYNAMODB to point the client at a local
// server such as dynalite. There is deliberately no variable of our own for
// the endpoint. Retries are the SDK's for DynamoDB (4 attempts, jittered
// exponential backoff), tunable with AWS_MAX_ATTEMPTS and AWS_RETRY_MODE.
func NewFromEnv(ctx context.Context, getenv func(string) string, log *slog.Logger) (*Store, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	table := getenv("TABLE_NAME")
	if table == "" {
		table = DefaultTable
	}
	return New(dynamodb.NewFromConfig(cfg), table, log), nil
}

// Table returns the name of the table the store uses.
func (s *Store) Table() string { return s.table }

func key(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{api.AttrUserID: &types.AttributeValueMemberS{Value: id}}
}

// GetUser implements api.Store.
//
// The read is strongly consistent: a client that has just been answered 201
// follows the Location header at once, and an eventually consistent read
// could answer it 404. The price is a read unit per 4 KB instead of half of
// one, which a user lookup can afford.
func (s *Store) GetUser(ctx context.Context, id string) (api.Item, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(id),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get user %q: %w", id, s.mapError(ctx, err))
	}
	if out.Item == nil {
		return nil, fmt.Errorf("get user %q: %w", id, api.ErrNotFound)
	}
	item, err := unmarshalItem(out.Item)
	if err != nil {
		return nil, fmt.Errorf("get user %q: %w", id, err)
	}
	return item, nil
}

// CreateUser implements api.Store. The condition attribute_not_exists(UserId)
// makes the check and the write one atomic step in DynamoDB, so of many
// concurrent creators of one UserId exactly one succeeds.
//
// When the condition fails, DynamoDB returns the item in the way, and an
// item equal to this one in every attribute counts as success, not
// ErrExists. That is what is left of our own write when its response was
// lost (a timeout, a 5xx after the commit) and the SDK retried it: without
// this, a create that succeeded would be reported as a conflict. The
// service stamps CreatedAt (to the millisecond) and CreatedBy on every
// item, so two different requests practically never make equal items.
func (s *Store) CreateUser(ctx context.Context, item api.Item) error {
	id, _ := item[api.AttrUserID].(string)
	if id == "" {
		return fmt.Errorf("create user: item has no string %s", api.AttrUserID)
	}
	av, err := marshalItem(item)
	if err != nil {
		return fmt.Errorf("create user %q: %w", id, err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.table),
		Item:                av,
		ConditionExpression: aws.String("attribute_not_exists(#id)"),
		// UserId is not a reserved word, but a placeholder keeps the
		// expression valid whatever the key attribute is called.
		ExpressionAttributeNames:            map[string]string{"#id": api.AttrUserID},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			if sameItem(ccf.Item, item) {
				return nil
			}
			return fmt.Errorf("create user %q: %w", id, api.ErrExists)
		}
		return fmt.Errorf("create user %q: %w", id, s.mapError(ctx, err))
	}
	return nil
}

// sameItem reports whether stored, as DynamoDB returned it, is item.
func sameItem(stored map[string]types.AttributeValue, item api.Item) bool {
	if stored == nil {
		return false
	}
	got, err := unmarshalItem(stored)
	return err == nil && reflect.DeepEqual(map[string]any(got), map[string]any(item))
}

// Bounds of the work one filtered page does. A filtered Scan reads (and
// is billed for) every item it evaluates, matching or not, so a page of
// a rare creator's items could otherwise read the whole table in one
// request, past the function's timeout. The bound makes such a page short
// (even empty) with a cursor instead, as the api.Store contract allows.
const (
	// maxFilteredScans is how many Scan calls one filtered page may make:
	// each reads at most 1 MB, so a page reads at most 8 MB (2,048 read
	// units, consistent), in a few hundred milliseconds.
	maxFilteredScans = 8
	// maxScanBatch is the most items one filtered Scan evaluates.
	maxScanBatch = 1000
)

// ListUsers implements api.Store with a Scan, in DynamoDB's own order (the
// hash order of UserId). Scan's Limit bounds the items read, and a scan
// stops early at 1 MB, so ListUsers scans again until the page is full or
// the table is exhausted: an unfiltered page is short only at the end.
// Next is the UserId of DynamoDB's LastEvaluatedKey, so it may be set on
// the last page when DynamoDB cannot yet know it is the last; the page
// after it is empty.
//
// A CreatedBy filter is a FilterExpression (no other IAM action than
// Scan). DynamoDB applies it after Limit, to the items each Scan read, so
// a filtered Scan may return fewer matches than asked for, or none. The
// store scans on, evaluating twice as many items each time (up to
// maxScanBatch), until the page is full, the table ends, or it has made
// maxFilteredScans calls. When a Scan matches more items than the page
// has room for, Next is the UserId of the last item kept: resuming after
// it reads the ones left over again, and skips none.
func (s *Store) ListUsers(ctx context.Context, q api.ListQuery) (api.Page, error) {
	if q.Limit < 1 {
		return api.Page{}, errors.New("list users: limit must be positive")
	}
	in := &dynamodb.ScanInput{
		TableName: aws.String(s.table),
		// Consistent for the same reason as GetUser: an admin who has
		// just created a user expects to see it listed.
		ConsistentRead: aws.Bool(true),
	}
	if q.CreatedBy != "" {
		in.FilterExpression = aws.String("#by = :by")
		in.ExpressionAttributeNames = map[string]string{"#by": api.AttrCreatedBy}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":by": &types.AttributeValueMemberS{Value: q.CreatedBy}}
	}
	if q.After != "" {
		in.ExclusiveStartKey = key(q.After)
	}
	page := api.Page{Items: make([]api.Item, 0, min(q.Limit, 100))}
	batch := q.Limit
	for scans := 1; ; scans++ {
		need := q.Limit - len(page.Items)
		evaluate := need
		if q.CreatedBy != "" {
			evaluate = max(need, min(batch, s.maxScanBatch))
			batch *= 2
		}
		in.Limit = aws.Int32(int32(min(evaluate, 1<<30)))
		out, err := s.client.Scan(ctx, in)
		if err != nil {
			return api.Page{}, fmt.Errorf("list users: %w", s.mapError(ctx, err))
		}
		for _, av := range out.Items {
			if len(page.Items) == q.Limit {
				last, _ := page.Items[len(page.Items)-1][api.AttrUserID].(string)
				if last == "" {
					return api.Page{}, errors.New("list users: scanned an item without a string UserId")
				}
				page.Next = last
				return page, nil
			}
			item, err := unmarshalItem(av)
			if err != nil {
				return api.Page{}, fmt.Errorf("list users: %w", err)
			}
			page.Items = append(page.Items, item)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return page, nil
		}
		if len(page.Items) >= q.Limit || (q.CreatedBy != "" && scans >= s.maxFilteredScans) {
			next, ok := out.LastEvaluatedKey[api.AttrUserID].(*types.AttributeValueMemberS)
			if !ok || next.Value == "" {
				return api.Page{}, errors.New("list users: scan resumes at a key without a string UserId")
			}
			page.Next = next.Value
			return page, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// mapError turns an SDK error, returned after the SDK's own retries, into
// one the API understands: throttling, server errors (5xx) and failures to
// reach DynamoDB at all wrap api.ErrUnavailable, so that the handler answers
// 503 with Retry-After. The SDK's error stays in the chain for the log.
// Errors of the caller's own context are returned as they are, since a
// request that has been given up on is not the store's failure.
func (s *Store) mapError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return err
	}
	if Unavailable(err) {
		return fmt.Errorf("%w: %w", api.ErrUnavailable, err)
	}
	// The service checks item size before writing, with DynamoDB's rules;
	// should the two ever disagree, the caller still gets a 413, not a 500.
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "ValidationException" &&
		strings.Contains(apiErr.ErrorMessage(), "Item size has exceeded") {
		return fmt.Errorf("%w: %w", api.ErrItemTooLarge, err)
	}
	return err
}

// EnsureTable creates the store's table if it does not exist, on-demand
// (PAY_PER_REQUEST) with the partition key UserId of type S, and waits until
// it is ACTIVE. It is meant for local servers (dynalite, DynamoDB Local) and
// tests; the Lambda functions never call it, since in AWS the table belongs
// to the Terraform module and the functions' role may not create tables.
func (s *Store) EnsureTable(ctx context.Context) error {
	created, err := CreateTable(ctx, s.client, s.table, api.AttrUserID)
	if created {
		s.log.InfoContext(ctx, "created table", "table", s.table)
	}
	return err
}
