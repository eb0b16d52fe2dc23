package dynamo

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/api/storetest"
)

func TestStoreContract(t *testing.T) {
	needDynalite(t)
	storetest.Run(t, func(t *testing.T) api.Store { return newTestStore(t) })
}

// Through a real DynamoDB API: what the store puts is stored with the
// golden types, and what boto3 put reads back as the golden JSON.
func TestSeedGoldenDynalite(t *testing.T) {
	s := newTestStore(t)
	g := loadGolden(t)
	for _, c := range g.Write {
		t.Run("write "+c.Name, func(t *testing.T) {
			item := parseUser(t, c.JSON)
			if err := s.CreateUser(t.Context(), item); err != nil {
				t.Fatal(err)
			}
			out, err := s.client.GetItem(t.Context(), &dynamodb.GetItemInput{
				TableName:      aws.String(s.table),
				Key:            key(item[api.AttrUserID].(string)),
				ConsistentRead: aws.Bool(true),
			})
			if err != nil {
				t.Fatal(err)
			}
			assertWire(t, toWire(out.Item), c.DynamoDB)
		})
	}
	for _, c := range g.Read {
		t.Run("read "+c.Name, func(t *testing.T) {
			raw := fromWire(t, c.DynamoDB)
			// An unconditional put, as boto3's table.put_item does.
			if _, err := s.client.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: raw}); err != nil {
				t.Fatal(err)
			}
			id := raw[api.AttrUserID].(*types.AttributeValueMemberS).Value
			got, err := s.GetUser(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			assertJSON(t, got, decodeJSON(t, c.JSON))
		})
	}
}
