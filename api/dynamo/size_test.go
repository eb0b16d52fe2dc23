package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/usersvc/usersvc/api"
)

// TestItemSizeAgreesWithDynamoDB writes items that api.ItemSize puts exactly
// at and one byte over the 400 KB limit, in shapes whose size rules differ
// (negative and unaligned numbers, nested maps and lists), and expects the
// server to agree: the first stored, the second refused as too large. The
// padding is ASCII, since dynalite counts strings in UTF-16 units where
// DynamoDB counts UTF-8 bytes.
func TestItemSizeAgreesWithDynamoDB(t *testing.T) {
	needDynalite(t)
	store := newTestStore(t)
	ctx := context.Background()
	shapes := map[string]func(api.Item){
		"negative numbers": func(it api.Item) {
			for i := range 2000 {
				it[fmt.Sprintf("n%04d", i)] = json.Number("-1")
			}
		},
		"unaligned numbers": func(it api.Item) {
			for i := range 2000 {
				it[fmt.Sprintf("n%04d", i)] = json.Number([]string{"1.2", "12", "0.05", "-123.45", "100", "0"}[i%6])
			}
		},
		"nested": func(it api.Item) {
			it["m"] = map[string]any{"a": []any{json.Number("-7.5"), true, nil, map[string]any{"b": "c"}}, "d": []any{}}
		},
	}
	for name, fill := range shapes {
		for _, over := range []int{0, 1} {
			item := api.Item{api.AttrUserID: fmt.Sprintf("%s-%d", name, over)}
			fill(item)
			const pad = "pad"
			item[pad] = ""
			item[pad] = strings.Repeat("x", api.MaxItemBytes+over-api.ItemSize(item))
			if got := api.ItemSize(item); got != api.MaxItemBytes+over {
				t.Fatalf("%s: padded to %d", name, got)
			}
			err := store.CreateUser(ctx, item)
			switch {
			case over == 0 && err != nil:
				t.Errorf("%s: item of exactly %d bytes refused: %v", name, api.MaxItemBytes, err)
			case over == 1 && !errors.Is(err, api.ErrItemTooLarge):
				t.Errorf("%s: item of %d bytes: err = %v, want ErrItemTooLarge", name, api.MaxItemBytes+1, err)
			}
		}
	}
}
