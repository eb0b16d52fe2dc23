package dynamo

import (
	"encoding/json"
	"fmt"
	"strings"
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

// A Scan stops at 1 MB whatever its Limit; ListUsers must keep scanning so
// that a page is short only at the end of the table.
func TestListUsersAcrossScanPages(t *testing.T) {
	s := newTestStore(t)
	const n = 14
	big := strings.Repeat("x", 200<<10) // five of these fill a 1 MB scan page
	for i := range n {
		if err := s.CreateUser(t.Context(), api.Item{api.AttrUserID: fmt.Sprintf("big-%02d", i), "Blob": big}); err != nil {
			t.Fatal(err)
		}
	}
	// The premise: one Scan cannot fill the page.
	raw, err := s.client.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(s.table), Limit: aws.Int32(12)})
	if err != nil {
		t.Fatal(err)
	}
	if len(raw.Items) >= 12 {
		t.Fatalf("a single Scan returned %d items; the test needs bigger items", len(raw.Items))
	}
	page, err := s.ListUsers(t.Context(), 12, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 12 || page.Next == "" {
		t.Fatalf("first page: %d items, Next %q; want 12 and a cursor", len(page.Items), page.Next)
	}
	rest, err := s.ListUsers(t.Context(), 12, page.Next)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest.Items) != n-12 || rest.Next != "" {
		t.Fatalf("second page: %d items, Next %q; want %d and no cursor", len(rest.Items), rest.Next, n-12)
	}
}

func BenchmarkGetUser(b *testing.B) {
	s := newTestStore(b)
	item := api.Item{api.AttrUserID: "bench", "Name": "Ada", "Age": json.Number("36"), "Tags": []any{"a", "b"}}
	if err := s.CreateUser(b.Context(), item); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.GetUser(b.Context(), "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreateUser(b *testing.B) {
	s := newTestStore(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		item := api.Item{api.AttrUserID: fmt.Sprintf("bench-%d", i), "Name": "Ada", "Age": json.Number("36"), "Tags": []any{"a", "b"}}
		if err := s.CreateUser(b.Context(), item); err != nil {
			b.Fatal(err)
		}
	}
}
