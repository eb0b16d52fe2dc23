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

	// ListUsers returns at most q.Limit items, starting after the item
	// whose UserId is q.After ("" starts at the beginning). Page.Next is ""
	// when the listing is known to be complete; otherwise passing it back
	// as After, with the same CreatedBy, continues where this page
	// stopped. Every matching item is returned exactly once over a full
	// listing of an unchanging store. The order is the store's own.
	//
	// With q.CreatedBy set, only items whose CreatedBy attribute is a
	// string equal to it, byte for byte, match. Filtering may have to read
	// the whole store, so a store may bound the work of one call: a
	// filtered page may then be short, even empty, while Next is set.
	// Callers follow Next until it is "", never stop at a short page.
	ListUsers(ctx context.Context, q ListQuery) (Page, error)
}

// ListQuery says which page of items ListUsers returns.
type ListQuery struct {
	// Limit is the most items the page may hold; it must be positive.
	Limit int
	// After is the UserId the page starts after: "" for the first page,
	// else the Next of the page before.
	After string
	// CreatedBy, when not "", keeps only the items whose CreatedBy (the
	// sub of the caller who created them) is exactly this string.
	CreatedBy string
}

// Page is one page of a listing.
type Page struct {
	Items []Item
	// Next is the UserId to resume after, or "" when there is nothing more.
	// It need not be the UserId of an item on the page: a filtered listing
	// may resume after items it read and did not keep.
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
