package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
)

// A cursor carries the UserId a listing resumes after (see Page.Next). It is opaque to
// clients and checked on the way back in: a version byte, a checksum and
// the id, base64url-encoded. The checksum catches truncated, corrupted or
// hand-edited cursors; it is not a secret, because a forged cursor could
// only start an admin's listing at an id of their choosing, which needs no
// forgery. A keyed MAC would need a key shared by every Lambda instance,
// which the service deliberately does not have.
const (
	cursorVersion = 1
	cursorSumLen  = 8
)

var cursorDomain = []byte("usersvc list cursor v1\x00")

// cursorSum is the checksum of a cursor of the listing filtered by
// createdBy ("" for the whole listing). Binding the cursor to its filter
// makes a cursor of one listing a 400 in another, instead of a page that
// silently starts somewhere else. Neither string can hold a NUL (both
// refuse control characters), so the hashed bytes are unambiguous, and the
// unfiltered listing's cursors stay what they were.
func cursorSum(id, createdBy string) []byte {
	h := sha256.New()
	h.Write(cursorDomain)
	h.Write([]byte(id))
	if createdBy != "" {
		h.Write([]byte{0})
		h.Write([]byte(createdBy))
	}
	return h.Sum(nil)[:cursorSumLen]
}

func encodeCursor(after, createdBy string) string {
	b := make([]byte, 0, 1+cursorSumLen+len(after))
	b = append(b, cursorVersion)
	b = append(b, cursorSum(after, createdBy)...)
	b = append(b, after...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns the UserId a cursor of the listing filtered by
// createdBy resumes after.
func decodeCursor(s, createdBy string) (string, error) {
	bad := invalid("query parameter \"cursor\" is not a cursor this API issued for this listing")
	if len(s) > base64.RawURLEncoding.EncodedLen(1+cursorSumLen+MaxUserIDBytes) {
		return "", bad
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) <= 1+cursorSumLen || b[0] != cursorVersion {
		return "", bad
	}
	id := string(b[1+cursorSumLen:])
	if !bytes.Equal(b[1:1+cursorSumLen], cursorSum(id, createdBy)) || ValidateUserID(id) != nil {
		return "", bad
	}
	return id, nil
}
