package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/usersvc/usersvc/api"
)

// The suite's own inputs must be what the API hands a store.
func TestNumbersAreCanonical(t *testing.T) {
	for _, n := range numbers {
		got, err := api.CanonicalNumber(n)
		if err != nil || got != n {
			t.Errorf("CanonicalNumber(%s) = %s, %v; the suite must use canonical numbers", n, got, err)
		}
	}
}

// memStore is the simplest store that keeps the contract. It checks that the
// suite passes a correct implementation, so that a failure against a real
// store points at the store.
type memStore struct {
	mu    sync.Mutex
	items map[string][]byte
}

func (m *memStore) GetUser(ctx context.Context, id string) (api.Item, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	b, ok := m.items[id]
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("get user %q: %w", id, api.ErrNotFound)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var item api.Item
	return item, dec.Decode(&item)
}

func (m *memStore) CreateUser(ctx context.Context, item api.Item) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := json.Marshal(item)
	if err != nil {
		return err
	}
	id := item[api.AttrUserID].(string)
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.items[id]; ok {
		return fmt.Errorf("create user %q: %w", id, api.ErrExists)
	}
	m.items[id] = b
	return nil
}

func (m *memStore) ListUsers(ctx context.Context, q api.ListQuery) (api.Page, error) {
	if err := ctx.Err(); err != nil {
		return api.Page{}, err
	}
	m.mu.Lock()
	ids := make([]string, 0, len(m.items))
	for id := range m.items {
		if id > q.After {
			ids = append(ids, id)
		}
	}
	m.mu.Unlock()
	slices.Sort(ids)
	var page api.Page
	for i, id := range ids {
		item, err := m.GetUser(ctx, id)
		if err != nil {
			return api.Page{}, err
		}
		if by, _ := item[api.AttrCreatedBy].(string); q.CreatedBy != "" && by != q.CreatedBy {
			continue
		}
		if len(page.Items) == q.Limit {
			page.Next = ids[i-1]
			break
		}
		page.Items = append(page.Items, item)
	}
	return page, nil
}

func TestRunOnMemoryStore(t *testing.T) {
	Run(t, func(t *testing.T) api.Store { return &memStore{items: map[string][]byte{}} })
}
