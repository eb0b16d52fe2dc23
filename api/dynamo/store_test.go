package dynamo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/api/dynamo/dynalite"
	"github.com/usersvc/usersvc/api/storetest"
)

func TestStoreContract(t *testing.T) {
	needDynalite(t)
	storetest.Run(t, func(t *testing.T) api.Store { return newTestStore(t) })
}

// With the tightest bounds (one Scan of at most two items per filtered
// page), filtered pages are short or empty most of the time; the contract
// still holds: every match exactly once.
func TestStoreContractTightBounds(t *testing.T) {
	needDynalite(t)
	storetest.Run(t, func(t *testing.T) api.Store {
		s := newTestStore(t)
		s.maxFilteredScans, s.maxScanBatch = 1, 2
		return s
	})
}

// scanRecorder is an HTTP client for the SDK that keeps the body of every
// Scan request it forwards.
type scanRecorder struct {
	mu    sync.Mutex
	scans []map[string]any
}

func (r *scanRecorder) Do(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.Header.Get("X-Amz-Target"), ".Scan") {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		var in map[string]any
		if err := json.Unmarshal(b, &in); err != nil {
			return nil, err
		}
		r.mu.Lock()
		r.scans = append(r.scans, in)
		r.mu.Unlock()
	}
	return http.DefaultClient.Do(req)
}

// take returns the Scan requests recorded since the last take.
func (r *scanRecorder) take() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.scans
	r.scans = nil
	return s
}

// A filtered listing is a Scan with a FilterExpression, not a client-side
// filter, and one page makes at most maxFilteredScans Scans: a page may
// come back empty with a cursor, and following the cursors finds every
// match once.
func TestListUsersCreatedByScans(t *testing.T) {
	s := newTestStore(t)
	rec := &scanRecorder{}
	s.client = testClient(dynalite.URL(t), func(o *dynamodb.Options) { o.HTTPClient = rec })
	s.maxFilteredScans, s.maxScanBatch = 2, 4
	const n = 60
	want := map[string]bool{}
	for i := range n {
		item := api.Item{api.AttrUserID: fmt.Sprintf("u-%02d", i), api.AttrCreatedBy: "common"}
		if i%20 == 7 {
			item[api.AttrCreatedBy] = "rare"
			want[item[api.AttrUserID].(string)] = true
		}
		if err := s.CreateUser(t.Context(), item); err != nil {
			t.Fatal(err)
		}
	}
	rec.take()
	seen := map[string]int{}
	q := api.ListQuery{Limit: 2, CreatedBy: "rare"}
	shortWithNext := 0
	for pages := 0; ; pages++ {
		if pages > n {
			t.Fatal("listing does not end")
		}
		page, err := s.ListUsers(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		scans := rec.take()
		if len(scans) == 0 || len(scans) > 2 {
			t.Fatalf("page %d made %d Scans, want 1 or 2", pages, len(scans))
		}
		for _, in := range scans {
			if in["FilterExpression"] != "#by = :by" ||
				!reflect.DeepEqual(in["ExpressionAttributeNames"], map[string]any{"#by": "CreatedBy"}) ||
				!reflect.DeepEqual(in["ExpressionAttributeValues"], map[string]any{":by": map[string]any{"S": "rare"}}) ||
				in["ConsistentRead"] != true {
				t.Fatalf("Scan request %v", in)
			}
			if limit, _ := in["Limit"].(float64); limit < 1 || limit > 4 {
				t.Fatalf("Scan evaluates %v items, want 1 to 4", in["Limit"])
			}
		}
		for _, item := range page.Items {
			seen[item[api.AttrUserID].(string)]++
		}
		if page.Next == "" {
			break
		}
		if len(page.Items) < q.Limit {
			shortWithNext++
		}
		q.After = page.Next
	}
	if shortWithNext == 0 {
		t.Error("no page was short: the test does not reach the bound")
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("%s listed %d times", id, seen[id])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("listed %v, want %v", seen, want)
	}
}

// A filtered Scan stops at 1 MB too; matches beyond it are found by the
// next Scan, or the next page.
func TestListUsersCreatedByAcrossScanPages(t *testing.T) {
	s := newTestStore(t)
	const n = 14
	big := strings.Repeat("x", 200<<10)
	for i := range n {
		by := []string{"even", "odd"}[i%2]
		if err := s.CreateUser(t.Context(), api.Item{api.AttrUserID: fmt.Sprintf("big-%02d", i), api.AttrCreatedBy: by, "Blob": big}); err != nil {
			t.Fatal(err)
		}
	}
	for _, limit := range []int{1, 3, 7, 100} {
		seen := map[string]int{}
		q := api.ListQuery{Limit: limit, CreatedBy: "odd"}
		for pages := 0; ; pages++ {
			if pages > n {
				t.Fatal("listing does not end")
			}
			page, err := s.ListUsers(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) > limit {
				t.Fatalf("limit %d: page of %d", limit, len(page.Items))
			}
			for _, item := range page.Items {
				if item[api.AttrCreatedBy] != "odd" || item["Blob"] != big {
					t.Fatalf("limit %d: listed %v's item %v", limit, item[api.AttrCreatedBy], item[api.AttrUserID])
				}
				seen[item[api.AttrUserID].(string)]++
			}
			if page.Next == "" {
				break
			}
			q.After = page.Next
		}
		if len(seen) != n/2 {
			t.Errorf("limit %d: listed %d of %d items", limit, len(seen), n/2)
		}
		for id, c := range seen {
			if c != 1 {
				t.Errorf("limit %d: %s listed %d times", limit, id, c)
			}
		}
	}
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
	page, err := s.ListUsers(t.Context(), api.ListQuery{Limit: 12})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 12 || page.Next == "" {
		t.Fatalf("first page: %d items, Next %q; want 12 and a cursor", len(page.Items), page.Next)
	}
	rest, err := s.ListUsers(t.Context(), api.ListQuery{Limit: 12, After: page.Next})
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
