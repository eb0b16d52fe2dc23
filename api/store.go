package api

import (
	"context"
	"errors"
)

// Store keeps user items. It is declared here, where it is consumed; the
// implementations live in packages named for their technology (api/dynamo,
// api/bolt) and must all pass the contract suite in api/storetest.
//
// Items handed to a Store have been validated by ParseCreateBody (or come from one),
// so implementations may rely on every Item invariant documented on Item.
type Store interface {
	// GetUser returns the item whose UserId is id, or an error wrapping
	// ErrNotFound when there is none.
	GetUser(ctx context.Context, id string) (Item, error)

	// CreateUser stores item if no item with the same UserId exists, and
	// returns an error wrapping ErrExists otherwise. It never overwrites.
	// When it returns nil the item is durable.
	CreateUser(ctx context.Context, item Item) error

	// ListUsers returns at most limit items, starting after the item whose
	// UserId is after ("" starts at the beginning). Page.Next is "" when
	// the listing is known to be complete; otherwise passing it back as
	// after continues where this page stopped. Every item is returned
	// exactly once over a full listing of an unchanging store. The order
	// is the store's own.
	ListUsers(ctx context.Context, limit int, after string) (Page, error)
}

// Page is one page of a listing.
type Page struct {
	Items []Item
	// Next is the UserId to resume after, or "" when there is nothing more.
	Next string
}

// Errors a Store reports, wrapped with context. The handlers map them to
// status codes in one place (see errorResponse).
var (
	// ErrNotFound: no item has that UserId.
	ErrNotFound = errors.New("user not found")
	// ErrExists: an item with that UserId is already stored.
	ErrExists = errors.New("user already exists")
	// ErrUnavailable: the store is throttled or down after its own retries;
	// the request may succeed later.
	ErrUnavailable = errors.New("store unavailable")
)
