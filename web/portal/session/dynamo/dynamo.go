// Package dynamo keeps the portal's sessions in a DynamoDB table, so that
// every instance of the portal (Lambda functions, containers) shares them.
//
// The table: partition key id (S), the hex SHA-256 of the session id (the
// id itself is never stored: the table alone hands out no cookie); TTL on
// the number attribute expires_at (epoch seconds); on demand. Each item
// also holds version (N), bumped by every write, and data (S), the session
// as JSON. Writes are conditional: a create never overwrites
// (attribute_not_exists), and an update only lands on the version it was
// computed from, so a sign-out or rotation cannot be undone by a request
// that read the session before it. Reads are strongly consistent. The
// store needs exactly dynamodb:GetItem, PutItem and DeleteItem.
//
// TTL deletion lags by up to two days, so Get may return a session past
// its Expires; the portal treats it as absent (see package session).
package dynamo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	userdynamo "github.com/usersvc/usersvc/api/dynamo"
	"github.com/usersvc/usersvc/web/portal/session"
)

// Attribute names of the table.
const (
	AttrID      = "id"
	AttrExpires = "expires_at"
	attrVersion = "version"
	attrData    = "data"
	attrKey     = "key"
)

// updateAttempts bounds how often Update recomputes a change that lost a
// race with another write of the same session: a browser opens at most six
// connections to a host, so more than that many writers of one session
// are not a browser.
const updateAttempts = 10

// Store is the portal's session store on one DynamoDB table. It is safe
// for concurrent use.
type Store struct {
	client *dynamodb.Client
	table  string
}

// New returns a Store on table, reached through client.
func New(client *dynamodb.Client, table string) *Store {
	return &Store{client: client, table: table}
}

// Table is the name of the store's table.
func (s *Store) Table() string { return s.table }

func hashKey(id string) map[string]types.AttributeValue {
	h := session.Hash(id)
	return map[string]types.AttributeValue{AttrID: &types.AttributeValueMemberS{Value: hex.EncodeToString(h[:])}}
}

func (s *Store) item(sess *session.Session) (map[string]types.AttributeValue, error) {
	data, err := json.Marshal(sess)
	if err != nil {
		return nil, fmt.Errorf("encode session: %w", err)
	}
	it := hashKey(sess.ID)
	it[AttrExpires] = &types.AttributeValueMemberN{Value: strconv.FormatInt(sess.Expires.Unix(), 10)}
	it[attrVersion] = &types.AttributeValueMemberN{Value: strconv.FormatInt(sess.Version, 10)}
	it[attrData] = &types.AttributeValueMemberS{Value: string(data)}
	return it, nil
}

// Get returns the session with id, or session.ErrNotFound: one strongly
// consistent GetItem.
func (s *Store) Get(ctx context.Context, id string) (*session.Session, error) {
	if id == "" {
		return nil, session.ErrNotFound
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            hashKey(id),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, mapError(ctx, "get session", err)
	}
	if out.Item == nil {
		return nil, session.ErrNotFound
	}
	data, _ := out.Item[attrData].(*types.AttributeValueMemberS)
	ver, _ := out.Item[attrVersion].(*types.AttributeValueMemberN)
	if data == nil || ver == nil {
		return nil, errors.New("get session: item lacks data or version")
	}
	sess := new(session.Session)
	if err := json.Unmarshal([]byte(data.Value), sess); err != nil {
		return nil, fmt.Errorf("decode session: %w", err)
	}
	if sess.Version, err = strconv.ParseInt(ver.Value, 10, 64); err != nil {
		return nil, fmt.Errorf("decode session version: %w", err)
	}
	sess.ID = id
	return sess, nil
}

// Create stores sess under a fresh id, which it sets, with a PutItem that
// never overwrites.
func (s *Store) Create(ctx context.Context, sess *session.Session) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sess.ID = session.NewID()
	sess.Version = 1
	it, err := s.item(sess)
	if err != nil {
		return err
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.table),
		Item:                it,
		ConditionExpression: aws.String("attribute_not_exists(#id)"),
		ExpressionAttributeNames: map[string]string{
			"#id": AttrID,
		},
	})
	if err != nil {
		sess.ID = ""
		return mapError(ctx, "create session", err)
	}
	return nil
}

// Update applies fn to a copy of sess and writes the result on condition
// that the stored version is still sess's. When another write came first,
// it waits a moment, reads the session again (one GetItem) and applies fn
// to that; a session deleted or rotated away meanwhile is
// session.ErrNotFound. On such a fresh read, fn decides again whether a
// write is needed at all: when it leaves the session as it was (the other
// write did what it would have, as with two page views recording the same
// minute's use), nothing is written and the stored session is returned.
func (s *Store) Update(ctx context.Context, sess *session.Session, fn func(*session.Session) error) (*session.Session, error) {
	if sess.ID == "" {
		return nil, session.ErrNotFound
	}
	cur := sess
	for attempt := range updateAttempts {
		next := cur.Clone()
		if err := fn(next); err != nil {
			return nil, err
		}
		// Only a read made here is known to be fresh; the caller's may
		// be stale, and skipping its write would drop a change.
		if attempt > 0 && sameData(cur, next) {
			return cur, nil
		}
		next.ID, next.Version = cur.ID, cur.Version+1
		it, err := s.item(next)
		if err != nil {
			return nil, err
		}
		_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                aws.String(s.table),
			Item:                     it,
			ConditionExpression:      aws.String("#v = :v"),
			ExpressionAttributeNames: map[string]string{"#v": attrVersion},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(cur.Version, 10)},
			},
		})
		if err == nil {
			return next, nil
		}
		if !conditionFailed(err) {
			return nil, mapError(ctx, "update session", err)
		}
		// Jittered, so that racing writers stop colliding; a request
		// given up on stops waiting.
		wait := time.NewTimer(time.Duration(mrand.Int64N(int64(2 * time.Millisecond))))
		select {
		case <-ctx.Done():
			wait.Stop()
			return nil, fmt.Errorf("update session: %w", ctx.Err())
		case <-wait.C:
		}
		if cur, err = s.Get(ctx, sess.ID); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("update session: %d writes in a row lost to concurrent ones", updateAttempts)
}

// sameData reports whether a and b would be stored alike.
func sameData(a, b *session.Session) bool {
	da, erra := json.Marshal(a)
	db, errb := json.Marshal(b)
	return erra == nil && errb == nil && bytes.Equal(da, db)
}

// Rotate deletes the session oldID, then creates sess under a fresh id.
// DynamoDB cannot do both in one request without TransactWriteItems, so
// the delete goes first: a failure in between leaves the browser signed
// out, never with two live sessions.
func (s *Store) Rotate(ctx context.Context, oldID string, sess *session.Session) error {
	if oldID != "" {
		if err := s.Delete(ctx, oldID); err != nil {
			return err
		}
	}
	return s.Create(ctx, sess)
}

// Delete removes the session with id; a missing session is not an error.
func (s *Store) Delete(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: hashKey(id)})
	if err != nil {
		return mapError(ctx, "delete session", err)
	}
	return nil
}

// StateKey is the key a portal seals its sign-ins in progress with when it
// runs on this table: none for a confidential client (the portal derives
// one from its secret), else the table's shared "portal-state" key, since
// a public client has no secret that every instance knows.
func (s *Store) StateKey(ctx context.Context, clientSecret string) ([]byte, error) {
	if clientSecret != "" {
		return nil, nil
	}
	key, err := s.SharedKey(ctx, "portal-state")
	if err != nil {
		return nil, fmt.Errorf("read the shared state key from %s: %w", s.table, err)
	}
	return key, nil
}

// SharedKey returns the 32-byte key named name that every user of the
// table shares, creating it at random on first use (a conditional PutItem,
// so racing instances agree on one). The portal seals sign-ins in progress
// with it when it has no client secret to derive a key from. Its item has
// no expires_at, so the TTL never removes it, and its id ("key#" + name)
// cannot collide with a session's hash.
func (s *Store) SharedKey(ctx context.Context, name string) ([]byte, error) {
	key := map[string]types.AttributeValue{AttrID: &types.AttributeValueMemberS{Value: "key#" + name}}
	for range 2 {
		out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return nil, mapError(ctx, "get shared key", err)
		}
		if b, ok := out.Item[attrKey].(*types.AttributeValueMemberB); ok && len(b.Value) == 32 {
			return b.Value, nil
		}
		k := make([]byte, 32)
		rand.Read(k)
		it := map[string]types.AttributeValue{AttrID: key[AttrID], attrKey: &types.AttributeValueMemberB{Value: k}}
		_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                aws.String(s.table),
			Item:                     it,
			ConditionExpression:      aws.String("attribute_not_exists(#id)"),
			ExpressionAttributeNames: map[string]string{"#id": AttrID},
		})
		if err == nil {
			return k, nil
		}
		if !conditionFailed(err) {
			return nil, mapError(ctx, "create shared key", err)
		}
		// Another instance created it first: read theirs.
	}
	return nil, fmt.Errorf("shared key %q: stored item is not a 32-byte key", name)
}

func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// mapError wraps throttling, server errors and failures to reach DynamoDB
// (after the SDK's own retries) in session.ErrUnavailable, for the
// portal's 503 page. The caller's own cancelled context is returned as is.
func mapError(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if userdynamo.Unavailable(err) {
		return fmt.Errorf("%s: %w: %w", op, session.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// EnsureTable creates the table if it does not exist (on demand, key id of
// type S) and turns on its TTL on expires_at, where the server offers TTL
// (dynalite does not). It is for local servers and tests: in AWS the table
// belongs to the Terraform module and the portal's role may not create it.
func (s *Store) EnsureTable(ctx context.Context) error {
	if _, err := userdynamo.CreateTable(ctx, s.client, s.table, AttrID); err != nil {
		return err
	}
	_, err := s.client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(s.table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(AttrExpires), Enabled: aws.Bool(true)},
	})
	var apiErr smithy.APIError
	if err != nil && !(errors.As(err, &apiErr) && (apiErr.ErrorCode() == "UnknownOperationException" || apiErr.ErrorCode() == "ValidationException")) {
		return fmt.Errorf("enable ttl on %s: %w", s.table, err)
	}
	return nil
}
