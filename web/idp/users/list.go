package users

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	bbolt "go.etcd.io/bbolt"
)

// Filter is a parsed ListUsers filter: Attr Op "Value".
type Filter struct {
	Attr   string // one of FilterAttributes
	Prefix bool   // ^= rather than =
	Value  string
}

// FilterAttributes are the attributes ListUsers can filter on, as in
// Cognito (custom attributes cannot be searched).
var FilterAttributes = []string{
	"username", "email", "phone_number", "name", "given_name", "family_name",
	"preferred_username", "cognito:user_status", "status", "sub",
}

// ErrBadFilter is wrapped by ParseFilter's errors.
var ErrBadFilter = errors.New("invalid filter")

// MaxFilterLen bounds a filter expression (Cognito: 256 characters).
const MaxFilterLen = 256

// ParseFilter parses Cognito's ListUsers filter syntax: an attribute name,
// "=" (exact) or "^=" (starts with), and a value in double quotes in which
// \" and \\ stand for " and \; spaces around the operator are allowed. An
// empty (or blank) filter matches everyone and parses to nil.
func ParseFilter(f string) (*Filter, error) {
	if len(f) > MaxFilterLen {
		return nil, fmt.Errorf("%w: longer than %d characters", ErrBadFilter, MaxFilterLen)
	}
	f = strings.TrimSpace(f)
	if f == "" {
		return nil, nil
	}
	i := strings.IndexAny(f, "^= \t")
	if i <= 0 {
		return nil, fmt.Errorf("%w: want attribute = \"value\" or attribute ^= \"value\"", ErrBadFilter)
	}
	out := &Filter{Attr: f[:i]}
	known := false
	for _, a := range FilterAttributes {
		known = known || a == out.Attr
	}
	if !known {
		return nil, fmt.Errorf("%w: cannot filter on %q", ErrBadFilter, out.Attr)
	}
	rest := strings.TrimLeft(f[i:], " \t")
	switch {
	case strings.HasPrefix(rest, "^="):
		out.Prefix, rest = true, rest[2:]
	case strings.HasPrefix(rest, "="):
		rest = rest[1:]
	default:
		return nil, fmt.Errorf("%w: the operator must be = or ^=", ErrBadFilter)
	}
	rest = strings.TrimLeft(rest, " \t")
	if len(rest) < 2 || rest[0] != '"' {
		return nil, fmt.Errorf("%w: the value must be in double quotes", ErrBadFilter)
	}
	var v strings.Builder
	closed := false
	for j := 1; j < len(rest); j++ {
		c := rest[j]
		if c == '\\' && j+1 < len(rest) {
			j++
			v.WriteByte(rest[j])
			continue
		}
		if c == '"' {
			if j != len(rest)-1 {
				return nil, fmt.Errorf("%w: text after the closing quote", ErrBadFilter)
			}
			closed = true
			break
		}
		v.WriteByte(c)
	}
	if !closed {
		return nil, fmt.Errorf("%w: unterminated value", ErrBadFilter)
	}
	out.Value = v.String()
	return out, nil
}

// Value returns the account's value of a filterable attribute.
func (u User) Value(attr string) string {
	switch attr {
	case "username", "sub":
		return u.Sub
	case "email":
		return u.Email
	case "cognito:user_status":
		return string(u.Status)
	case "status":
		if u.Disabled {
			return "Disabled"
		}
		return "Enabled"
	}
	return u.Attributes[attr]
}

// Match reports whether the account passes the filter (a nil filter passes
// everyone). cognito:user_status and email compare case-insensitively.
func (f *Filter) Match(u User) bool {
	if f == nil {
		return true
	}
	have, want := u.Value(f.Attr), f.Value
	if f.Attr == "cognito:user_status" || f.Attr == "email" {
		have, want = strings.ToLower(have), strings.ToLower(want)
	}
	if f.Prefix {
		return strings.HasPrefix(have, want)
	}
	return have == want
}

// MaxListLimit is the most accounts one ListUsers page holds (Cognito: 60).
const MaxListLimit = 60

// ErrBadToken is List's answer to a pagination token it did not issue for
// this filter.
var ErrBadToken = errors.New("invalid pagination token")

// List returns up to limit accounts (MaxListLimit when limit is 0) that
// pass the filter, starting after the page token (empty for the first
// page), and the token of the next page ("" after the last). Filters on
// email walk the email index from the prefix, filters on sub or username
// the accounts' keys; others read every account but decode only those
// whose stored form can match.
func (s *Store) List(ctx context.Context, f *Filter, limit int, token string) ([]User, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	if limit <= 0 || limit > MaxListLimit {
		limit = MaxListLimit
	}
	index := bucketUsers
	var prefix []byte // keys outside it end the walk
	if f != nil {
		switch f.Attr {
		case "email":
			index, prefix = bucketEmails, []byte(strings.ToLower(f.Value))
		case "sub", "username":
			prefix = []byte(f.Value)
		}
	}
	kind := "u"
	if bytes.Equal(index, bucketEmails) {
		kind = "e"
	}
	var after []byte
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(raw) < 2 || string(raw[:1]) != kind {
			return nil, "", ErrBadToken
		}
		after = raw[1:]
	}
	// A cheap test before decoding: the value appears as such in the
	// stored JSON when it has no character JSON would escape.
	var needle []byte
	if f != nil && f.Attr != "status" && f.Attr != "cognito:user_status" && f.Attr != "email" && plainJSON(f.Value) {
		needle = []byte(f.Value)
	}
	var out []User
	next := ""
	err := s.db.View(func(tx *bbolt.Tx) error {
		users := tx.Bucket(bucketUsers)
		c := tx.Bucket(index).Cursor()
		var k, v []byte
		switch {
		case after != nil:
			k, v = c.Seek(after)
			if bytes.Equal(k, after) {
				k, v = c.Next()
			}
		case prefix != nil:
			k, v = c.Seek(prefix)
		default:
			k, v = c.First()
		}
		for ; k != nil; k, v = c.Next() {
			if prefix != nil && !bytes.HasPrefix(k, prefix) {
				break
			}
			if kind == "e" {
				v = users.Get(v)
				if v == nil {
					continue
				}
			}
			if needle != nil && !bytes.Contains(v, needle) {
				continue
			}
			if len(out) == limit {
				next = base64.RawURLEncoding.EncodeToString(append([]byte(kind), lastKey(out, kind)...))
				return nil
			}
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode user: %w", err)
			}
			if f.Match(r.User) {
				out = append(out, r.User)
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list users: %w", err)
	}
	return out, next, nil
}

func lastKey(us []User, kind string) []byte {
	u := us[len(us)-1]
	if kind == "e" {
		return []byte(u.Email)
	}
	return []byte(u.Sub)
}

func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return s != ""
}

// InGroup returns a page of the group's members, as List pages them.
func (s *Store) InGroup(ctx context.Context, group string, limit int, token string) ([]User, string, error) {
	if _, err := s.Group(ctx, group); err != nil {
		return nil, "", err
	}
	if limit <= 0 || limit > MaxListLimit {
		limit = MaxListLimit
	}
	var out []User
	for {
		page, next, err := s.List(ctx, nil, MaxListLimit, token)
		if err != nil {
			return nil, "", err
		}
		for i, u := range page {
			for _, g := range u.Groups {
				if g == group {
					out = append(out, u)
				}
			}
			if len(out) == limit {
				if i == len(page)-1 && next == "" {
					return out, "", nil
				}
				return out, base64.RawURLEncoding.EncodeToString(append([]byte("u"), u.Sub...)), nil
			}
		}
		if next == "" {
			return out, "", nil
		}
		token = next
	}
}

// Count returns the number of accounts.
func (s *Store) Count(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := 0
	err := s.db.View(func(tx *bbolt.Tx) error {
		n = tx.Bucket(bucketUsers).Stats().KeyN
		return nil
	})
	return n, err
}
