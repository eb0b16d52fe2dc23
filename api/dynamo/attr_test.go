package dynamo

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/usersvc/usersvc/api"
)

// golden is testdata/seed_items.json.
type golden struct {
	Write []struct {
		Name     string
		Note     string
		JSON     json.RawMessage
		DynamoDB map[string]any
	}
	Read []struct {
		Name     string
		DynamoDB map[string]any
		JSON     json.RawMessage
	}
}

func loadGolden(t *testing.T) golden {
	t.Helper()
	b, err := os.ReadFile("testdata/seed_items.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("seed_items.json: %v", err)
	}
	if len(g.Write) == 0 || len(g.Read) == 0 {
		t.Fatal("seed_items.json has no cases")
	}
	return g
}

// parseUser turns a User object into the Item the API would hand the store.
func parseUser(t *testing.T, user json.RawMessage) api.Item {
	t.Helper()
	item, err := api.ParseCreateBody([]byte(`{"User":` + string(user) + `}`))
	if err != nil {
		t.Fatalf("ParseCreateBody: %v", err)
	}
	return item
}

// decodeJSON decodes b the way the service does, numbers as json.Number.
func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// toWire renders an item in DynamoDB's JSON wire shape.
func toWire(item map[string]types.AttributeValue) map[string]any {
	m := make(map[string]any, len(item))
	for k, av := range item {
		m[k] = avToWire(av)
	}
	return m
}

func avToWire(av types.AttributeValue) any {
	switch av := av.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": av.Value}
	case *types.AttributeValueMemberN:
		return map[string]any{"N": av.Value}
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": av.Value}
	case *types.AttributeValueMemberNULL:
		return map[string]any{"NULL": av.Value}
	case *types.AttributeValueMemberL:
		l := make([]any, len(av.Value))
		for i, e := range av.Value {
			l[i] = avToWire(e)
		}
		return map[string]any{"L": l}
	case *types.AttributeValueMemberM:
		return map[string]any{"M": toWire(av.Value)}
	case *types.AttributeValueMemberSS:
		return map[string]any{"SS": strs(av.Value)}
	case *types.AttributeValueMemberNS:
		return map[string]any{"NS": strs(av.Value)}
	case *types.AttributeValueMemberB:
		return map[string]any{"B": base64.StdEncoding.EncodeToString(av.Value)}
	case *types.AttributeValueMemberBS:
		l := make([]any, len(av.Value))
		for i, b := range av.Value {
			l[i] = base64.StdEncoding.EncodeToString(b)
		}
		return map[string]any{"BS": l}
	}
	panic(fmt.Sprintf("test cannot render %T", av))
}

func strs(ss []string) []any {
	l := make([]any, len(ss))
	for i, s := range ss {
		l[i] = s
	}
	return l
}

// fromWire builds an item from DynamoDB's JSON wire shape, as boto3's
// client sends it.
func fromWire(t *testing.T, m map[string]any) map[string]types.AttributeValue {
	t.Helper()
	item := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		item[k] = wireToAV(t, v)
	}
	return item
}

func wireToAV(t *testing.T, v any) types.AttributeValue {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		t.Fatalf("not an attribute value: %v", v)
	}
	list := func(x any) []any { return x.([]any) }
	bin := func(x any) []byte {
		b, err := base64.StdEncoding.DecodeString(x.(string))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for typ, x := range m {
		switch typ {
		case "S":
			return &types.AttributeValueMemberS{Value: x.(string)}
		case "N":
			return &types.AttributeValueMemberN{Value: x.(string)}
		case "BOOL":
			return &types.AttributeValueMemberBOOL{Value: x.(bool)}
		case "NULL":
			return &types.AttributeValueMemberNULL{Value: x.(bool)}
		case "L":
			l := []types.AttributeValue{}
			for _, e := range list(x) {
				l = append(l, wireToAV(t, e))
			}
			return &types.AttributeValueMemberL{Value: l}
		case "M":
			return &types.AttributeValueMemberM{Value: fromWire(t, x.(map[string]any))}
		case "SS", "NS":
			var ss []string
			for _, e := range list(x) {
				ss = append(ss, e.(string))
			}
			if typ == "SS" {
				return &types.AttributeValueMemberSS{Value: ss}
			}
			return &types.AttributeValueMemberNS{Value: ss}
		case "B":
			return &types.AttributeValueMemberB{Value: bin(x)}
		case "BS":
			var bs [][]byte
			for _, e := range list(x) {
				bs = append(bs, bin(e))
			}
			return &types.AttributeValueMemberBS{Value: bs}
		}
		t.Fatalf("unknown attribute type %q", typ)
	}
	return nil
}

func assertWire(t *testing.T, got, want map[string]any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("DynamoDB item differs\n got: %s\nwant: %s", g, w)
	}
}

func assertJSON(t *testing.T, got api.Item, want map[string]any) {
	t.Helper()
	if !reflect.DeepEqual(map[string]any(got), want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("item differs\n got: %s\nwant: %s", g, w)
	}
}

// The store writes a JSON body with the attribute types boto3 would.
func TestSeedGoldenWrite(t *testing.T) {
	for _, c := range loadGolden(t).Write {
		t.Run(c.Name, func(t *testing.T) {
			av, err := marshalItem(parseUser(t, c.JSON))
			if err != nil {
				t.Fatal(err)
			}
			assertWire(t, toWire(av), c.DynamoDB)
		})
	}
}

// The store reads what boto3 and other tools write.
func TestSeedGoldenRead(t *testing.T) {
	for _, c := range loadGolden(t).Read {
		t.Run(c.Name, func(t *testing.T) {
			item, err := unmarshalItem(fromWire(t, c.DynamoDB))
			if err != nil {
				t.Fatal(err)
			}
			assertJSON(t, item, decodeJSON(t, c.JSON))
		})
	}
}

func TestUnmarshalSetsKeepOrder(t *testing.T) {
	item, err := unmarshalItem(map[string]types.AttributeValue{
		"SS": &types.AttributeValueMemberSS{Value: []string{"b", "a", "c"}},
		"NS": &types.AttributeValueMemberNS{Value: []string{"3", "-1.5", "12345678901234567890.123"}},
		"BS": &types.AttributeValueMemberBS{Value: [][]byte{{0xff}, {}, []byte("hi")}},
		"B":  &types.AttributeValueMemberB{Value: []byte{0, 1, 2, 0xfe}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"SS": []any{"b", "a", "c"},
		"NS": []any{json.Number("3"), json.Number("-1.5"), json.Number("12345678901234567890.123")},
		"BS": []any{"/w==", "", "aGk="},
		"B":  "AAEC/g==",
	}
	assertJSON(t, item, want)
}

func TestConversionErrors(t *testing.T) {
	marshal := []struct {
		name string
		item api.Item
	}{
		{"float64", api.Item{"UserId": "x", "F": 1.5}},
		{"int", api.Item{"UserId": "x", "I": 1}},
		{"empty number", api.Item{"UserId": "x", "N": json.Number("")}},
		{"nested struct", api.Item{"UserId": "x", "M": map[string]any{"L": []any{struct{}{}}}}},
	}
	for _, c := range marshal {
		t.Run("marshal "+c.name, func(t *testing.T) {
			if _, err := marshalItem(c.item); err == nil {
				t.Error("marshal succeeded")
			}
		})
	}
	unmarshal := []struct {
		name string
		item map[string]types.AttributeValue
	}{
		{"nil value", map[string]types.AttributeValue{"A": nil}},
		{"unknown member", map[string]types.AttributeValue{"A": &types.UnknownUnionMember{Tag: "X"}}},
		{"nested unknown", map[string]types.AttributeValue{"A": &types.AttributeValueMemberL{Value: []types.AttributeValue{
			&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"B": &types.UnknownUnionMember{Tag: "X"}}},
		}}}},
	}
	for _, c := range unmarshal {
		t.Run("unmarshal "+c.name, func(t *testing.T) {
			_, err := unmarshalItem(c.item)
			if err == nil {
				t.Fatal("unmarshal succeeded")
			}
			if !strings.Contains(err.Error(), `"A"`) {
				t.Errorf("error %q does not name the attribute", err)
			}
		})
	}
}

// FuzzRoundTrip: whatever body the API accepts converts to DynamoDB and back
// unchanged.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte(`{"User":{"UserId":"u1","Age":42,"Tags":["a",1.5,null,true],"M":{"x":{}}}}`))
	f.Add([]byte(`{"User":{"UserId":"n","N":12345678901234567890.123,"E":-1e-130,"L":[[[]]]}}`))
	f.Add([]byte(`{"User":{"UserId":"ü","":""}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		item, err := api.ParseCreateBody(body)
		if err != nil {
			return
		}
		av, err := marshalItem(item)
		if err != nil {
			t.Fatalf("marshal of a valid item: %v", err)
		}
		back, err := unmarshalItem(av)
		if err != nil {
			t.Fatalf("unmarshal: %v", err)
		}
		if !reflect.DeepEqual(back, item) {
			t.Fatalf("round trip changed the item\n got: %#v\nwant: %#v", back, item)
		}
	})
}

func benchItem() api.Item {
	return api.Item{
		api.AttrUserID: "bench", "Name": "Ada Lovelace", "Age": json.Number("36"), "Admin": true,
		"Tags":    []any{"a", "b", json.Number("12345678901234567890.123")},
		"Address": map[string]any{"City": "Paris", "Zip": "75002", "Geo": map[string]any{"Lat": json.Number("48.8698")}},
	}
}

func BenchmarkMarshalItem(b *testing.B) {
	item := benchItem()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := marshalItem(item); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalItem(b *testing.B) {
	av, err := marshalItem(benchItem())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := unmarshalItem(av); err != nil {
			b.Fatal(err)
		}
	}
}
