package dynamo

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/usersvc/usersvc/api"
)

// The conversion between api.Item and DynamoDB attribute values is written
// out by hand rather than left to feature/dynamodb/attributevalue: that
// package marshals json.Number (a string type) as S, and decodes N into
// float64 unless told otherwise, while the service promises that numbers
// keep every digit. Here a number is only ever a string of digits.
//
// Writing produces the same attribute types boto3's put_item produces for
// the parsed JSON body the seed stores: S, N, BOOL, NULL, L and M.
//
// Reading accepts every attribute type, since other tools may have written
// to the table. The types JSON has no word for are converted, not refused:
//   - SS and NS become lists of strings and numbers, in the order DynamoDB
//     returns them (sets have no order of their own);
//   - B becomes its standard base64 encoding (what the DynamoDB JSON wire
//     format and the AWS CLI show), and BS a list of those strings.
//
// Such an item therefore reads back as plain JSON; written back through this
// store it would be stored with JSON's types (L and S), not as a set or
// binary. A user service has no use for the distinction, and failing the
// whole read over one attribute would be worse.

// marshalItem converts item into a DynamoDB item.
func marshalItem(item api.Item) (map[string]types.AttributeValue, error) {
	return marshalMap(item)
}

func marshalMap(m map[string]any) (map[string]types.AttributeValue, error) {
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		av, err := marshalValue(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", k, err)
		}
		out[k] = av
	}
	return out, nil
}

func marshalValue(v any) (types.AttributeValue, error) {
	switch v := v.(type) {
	case string:
		return &types.AttributeValueMemberS{Value: v}, nil
	case json.Number:
		if v == "" {
			return nil, fmt.Errorf("empty number")
		}
		// Items come validated, in DynamoDB's canonical form; the digits go
		// over the wire as they are.
		return &types.AttributeValueMemberN{Value: string(v)}, nil
	case bool:
		return &types.AttributeValueMemberBOOL{Value: v}, nil
	case nil:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case []any:
		l := make([]types.AttributeValue, len(v))
		for i, e := range v {
			av, err := marshalValue(e)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			l[i] = av
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case map[string]any:
		m, err := marshalMap(v)
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	case api.Item:
		return marshalValue(map[string]any(v))
	}
	return nil, fmt.Errorf("unsupported value of type %T", v)
}

// unmarshalItem converts a DynamoDB item into an api.Item.
func unmarshalItem(m map[string]types.AttributeValue) (api.Item, error) {
	out, err := unmarshalMap(m)
	if err != nil {
		return nil, err
	}
	return api.Item(out), nil
}

func unmarshalMap(m map[string]types.AttributeValue) (map[string]any, error) {
	out := make(map[string]any, len(m))
	for k, av := range m {
		v, err := unmarshalValue(av)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", k, err)
		}
		out[k] = v
	}
	return out, nil
}

func unmarshalValue(av types.AttributeValue) (any, error) {
	switch av := av.(type) {
	case *types.AttributeValueMemberS:
		return av.Value, nil
	case *types.AttributeValueMemberN:
		return json.Number(av.Value), nil
	case *types.AttributeValueMemberBOOL:
		return av.Value, nil
	case *types.AttributeValueMemberNULL:
		return nil, nil
	case *types.AttributeValueMemberL:
		l := make([]any, len(av.Value))
		for i, e := range av.Value {
			v, err := unmarshalValue(e)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			l[i] = v
		}
		return l, nil
	case *types.AttributeValueMemberM:
		return unmarshalMap(av.Value)
	case *types.AttributeValueMemberSS:
		l := make([]any, len(av.Value))
		for i, s := range av.Value {
			l[i] = s
		}
		return l, nil
	case *types.AttributeValueMemberNS:
		l := make([]any, len(av.Value))
		for i, n := range av.Value {
			l[i] = json.Number(n)
		}
		return l, nil
	case *types.AttributeValueMemberB:
		return base64.StdEncoding.EncodeToString(av.Value), nil
	case *types.AttributeValueMemberBS:
		l := make([]any, len(av.Value))
		for i, b := range av.Value {
			l[i] = base64.StdEncoding.EncodeToString(b)
		}
		return l, nil
	case nil:
		return nil, fmt.Errorf("missing attribute value")
	}
	return nil, fmt.Errorf("unsupported attribute value type %T", av)
}
