package model

import (
	"encoding/base64"
	"encoding/json"
	"time"
)

// Pagination limits.
const (
	DefaultPageSize = 50
	MaxPageSize     = 100
)

// PageRequest asks for one page of a list.
type PageRequest struct {
	// Limit is the page size, 1..MaxPageSize.
	Limit int
	// After is the decoded cursor; nil for the first page.
	After *Cursor
}

// Page is one page of a list. NextCursor is empty on the last page.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// Cursor is a position in a keyset-ordered list: the sort key of the last item returned. Each list uses
// the fields its order needs.
type Cursor struct {
	T  time.Time `json:"t,omitzero"`
	S  string    `json:"s,omitempty"`
	N  int64     `json:"n,omitempty"`
	ID string    `json:"id,omitempty"`
}

// Encode returns the cursor as an opaque URL-safe string.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor parses a string made by Encode; ok is false when it is not one.
func DecodeCursor(s string) (c Cursor, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil {
		return Cursor{}, false
	}
	return c, true
}

// NewPage trims items fetched with limit+1 to limit and sets the next cursor from the last kept item.
func NewPage[T any](items []T, limit int, cursorOf func(T) Cursor) Page[T] {
	p := Page[T]{Items: items}
	if p.Items == nil {
		p.Items = []T{}
	}
	if len(items) > limit {
		p.Items = items[:limit]
		p.NextCursor = cursorOf(p.Items[limit-1]).Encode()
	}
	return p
}
