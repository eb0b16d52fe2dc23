// Package bolt is an api.Store in one bbolt file: the offline twin of the
// DynamoDB table. Items are kept as JSON under their UserId, so numbers keep
// every digit; a create commits (and fsyncs) before it returns.
package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/usersvc/usersvc/api"
)

var usersBucket = []byte("users")

// Store is an api.Store on a bbolt database. It is safe for concurrent use.
type Store struct {
	db *bbolt.DB
}

var _ api.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path. It waits at
// most a second for another process's lock on the file rather than hanging.
func Open(path string) (*Store, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("open user store %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(usersBucket)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare user store %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close releases the database file.
func (s *Store) Close() error { return s.db.Close() }

// GetUser implements api.Store.
func (s *Store) GetUser(ctx context.Context, id string) (api.Item, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var item api.Item
	err := s.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(usersBucket).Get([]byte(id))
		if v == nil {
			return api.ErrNotFound
		}
		// v is only valid inside the transaction; decoding copies it.
		var err error
		item, err = decode(v)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get user %q: %w", id, err)
	}
	return item, nil
}

// CreateUser implements api.Store. bbolt runs one writer at a time, so the
// existence check and the write cannot interleave with another create.
func (s *Store) CreateUser(ctx context.Context, item api.Item) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	id, ok := item[api.AttrUserID].(string)
	if !ok || id == "" {
		return fmt.Errorf("create user: item has no string %s", api.AttrUserID)
	}
	v, err := json.Marshal(item)
	if err != nil {
		return fmt.Errorf("create user %q: encode: %w", id, err)
	}
	err = s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(usersBucket)
		if b.Get([]byte(id)) != nil {
			return api.ErrExists
		}
		return b.Put([]byte(id), v)
	})
	if err != nil {
		return fmt.Errorf("create user %q: %w", id, err)
	}
	return nil
}

// ListUsers implements api.Store, in byte order of UserId. A filtered
// listing reads every item after q.After until its page is full and one
// more match is found (so that Next is "" after the last match); a local
// file is read in milliseconds, so it does not bound that work.
func (s *Store) ListUsers(ctx context.Context, q api.ListQuery) (api.Page, error) {
	if err := ctx.Err(); err != nil {
		return api.Page{}, err
	}
	if q.Limit < 1 {
		return api.Page{}, errors.New("list users: limit must be positive")
	}
	var page api.Page
	var last string
	err := s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(usersBucket).Cursor()
		var k, v []byte
		if q.After == "" {
			k, v = c.First()
		} else {
			k, v = c.Seek([]byte(q.After))
			if k != nil && bytes.Equal(k, []byte(q.After)) {
				k, v = c.Next()
			}
		}
		for ; k != nil; k, v = c.Next() {
			var item api.Item
			if q.CreatedBy != "" {
				var err error
				if item, err = decode(v); err != nil {
					return fmt.Errorf("user %q: %w", k, err)
				}
				// A CreatedBy that is not a string (absent, a number)
				// equals no sub.
				if by, _ := item[api.AttrCreatedBy].(string); by != q.CreatedBy {
					continue
				}
			}
			if len(page.Items) == q.Limit {
				page.Next = last
				return nil
			}
			if item == nil {
				var err error
				if item, err = decode(v); err != nil {
					return fmt.Errorf("user %q: %w", k, err)
				}
			}
			page.Items = append(page.Items, item)
			last = string(k)
		}
		return nil
	})
	if err != nil {
		return api.Page{}, fmt.Errorf("list users: %w", err)
	}
	return page, nil
}

func decode(v []byte) (api.Item, error) {
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	var item api.Item
	if err := dec.Decode(&item); err != nil {
		return nil, fmt.Errorf("decode stored item: %w", err)
	}
	return item, nil
}
