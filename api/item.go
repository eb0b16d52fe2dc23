package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Item is one stored user: the attributes of a JSON object. Values are,
// recursively, string, json.Number, bool, nil, []any and map[string]any.
//
// An Item produced by ParseCreateBody (and so any Item a Store holds) has a
// valid string UserId, numbers in DynamoDB's canonical form (see
// CanonicalNumber), nesting within DynamoDB's 32 levels and a DynamoDB item
// size within 400 KB.
type Item map[string]any

// Attribute names the service owns.
const (
	AttrUserID    = "UserId"
	AttrCreatedAt = "CreatedAt"
	AttrCreatedBy = "CreatedBy"
)

// Limits of DynamoDB and API Gateway that the service enforces up front, so
// that bad input gets a clear 400 or 413 instead of a store error.
const (
	// MaxBodyBytes bounds a request body before it is parsed.
	MaxBodyBytes = 1 << 20
	// MaxItemBytes is DynamoDB's item size limit (400 KB).
	MaxItemBytes = 400 * 1024
	// MaxDepth is how deeply DynamoDB lets lists and maps nest.
	MaxDepth = 32
	// MaxUserIDBytes bounds UserId. DynamoDB allows 2048-byte partition
	// keys; the service keeps ids short enough to sit in a URL comfortably.
	MaxUserIDBytes = 256
)

// ValidationError reports input that breaks a rule of the item model. The
// handlers answer it with 400 and its message, which names the problem and
// quotes at most a short piece of the input (an attribute name or a number).
type ValidationError struct {
	Message string
}

func (e *ValidationError) Error() string { return e.Message }

func invalid(format string, args ...any) error {
	return &ValidationError{Message: fmt.Sprintf(format, args...)}
}

// Errors for input that is well formed but too large; handlers answer 413.
var (
	ErrBodyTooLarge = errors.New("request body exceeds 1 MiB")
	ErrItemTooLarge = errors.New("item exceeds DynamoDB's 400 KB item size limit")
)

// ParseCreateBody decodes and validates the body of POST /user, which must be
// exactly one JSON object {"User": {...}} (the seed's shape). The returned
// Item does not yet carry CreatedAt or CreatedBy: a body that sets them is
// rejected, since the service owns them.
func ParseCreateBody(body []byte) (Item, error) {
	if len(body) > MaxBodyBytes {
		return nil, ErrBodyTooLarge
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, invalid("request body is empty: send a JSON object {\"User\": {...}}")
	}
	if !utf8.Valid(body) {
		// encoding/json would quietly turn bad bytes into U+FFFD.
		return nil, invalid("request body is not valid UTF-8")
	}
	if err := checkSurrogates(body); err != nil {
		return nil, err
	}
	d := decoder{dec: json.NewDecoder(bytes.NewReader(body))}
	d.dec.UseNumber()

	tok, err := d.token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, invalid("request body must be a JSON object {\"User\": {...}}")
	}
	var user Item
	for d.dec.More() {
		key, err := d.key()
		if err != nil {
			return nil, err
		}
		if key != "User" {
			return nil, invalid("unknown field %q in request body: only \"User\" is accepted", truncate(key))
		}
		if user != nil {
			return nil, invalid("field \"User\" appears more than once")
		}
		tok, err := d.token()
		if err != nil {
			return nil, err
		}
		if tok != json.Delim('{') {
			return nil, invalid("\"User\" must be a JSON object")
		}
		m, err := d.object(0)
		if err != nil {
			return nil, err
		}
		user = Item(m)
	}
	if _, err := d.token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := d.dec.Token(); err != io.EOF {
		return nil, invalid("request body has data after the JSON object")
	}
	if user == nil {
		return nil, invalid("request body has no \"User\" object")
	}
	if err := validateItem(user); err != nil {
		return nil, err
	}
	return user, nil
}

// validateItem checks the rules that depend on the whole item. Values were
// already checked while decoding.
func validateItem(item Item) error {
	raw, ok := item[AttrUserID]
	if !ok {
		return invalid("\"User\" has no \"UserId\"")
	}
	id, ok := raw.(string)
	if !ok {
		return invalid("\"UserId\" must be a string, not %s", jsonType(raw))
	}
	if err := ValidateUserID(id); err != nil {
		return err
	}
	for _, owned := range []string{AttrCreatedAt, AttrCreatedBy} {
		if _, ok := item[owned]; ok {
			return invalid("%q is set by the service and must not be sent", owned)
		}
	}
	for name := range item {
		if own, ok := lookalike(name); ok {
			return invalid("attribute %q differs from the service's own %q only by case or invisible characters: choose another name", truncate(name), own)
		}
	}
	if ItemSize(item) > MaxItemBytes {
		return ErrItemTooLarge
	}
	return nil
}

// ValidateUserID reports whether id can be a UserId: 1 to 256 bytes of
// valid UTF-8 without control characters.
func ValidateUserID(id string) error {
	return validateName(`"UserId"`, id, MaxUserIDBytes)
}

// MaxCreatedByBytes bounds the createdBy filter of GET /users. A Cognito
// sub is a 36-byte UUID; the bound leaves room for other issuers' subjects.
const MaxCreatedByBytes = 256

// ValidateCreatedBy reports whether sub can be the createdBy filter of
// GET /users: 1 to 256 bytes of valid UTF-8 without control characters,
// the rules of a UserId. No item can match anything else, since CreatedBy
// is the sub the JWT authorizer passed on.
func ValidateCreatedBy(sub string) error {
	return validateName(`query parameter "createdBy"`, sub, MaxCreatedByBytes)
}

// validateName checks s as what names (already quoted) must be: 1 to maxBytes
// bytes of valid UTF-8 without control characters.
func validateName(what, s string, maxBytes int) error {
	switch {
	case s == "":
		return invalid("%s must not be empty", what)
	case len(s) > maxBytes:
		return invalid("%s is %d bytes long; at most %d are allowed", what, len(s), maxBytes)
	case !utf8.ValidString(s):
		return invalid("%s is not valid UTF-8", what)
	}
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return invalid("%s must not contain control characters", what)
		}
	}
	return nil
}

// decoder walks a JSON document token by token, so that depth, duplicate
// names and number limits are checked before any large structure is built.
type decoder struct {
	dec *json.Decoder
}

func (d *decoder) token() (json.Token, error) {
	tok, err := d.dec.Token()
	if err == io.EOF {
		return nil, invalid("request body ends before the JSON is complete")
	}
	if err != nil {
		// The decoder's syntax errors name an offset, never internals.
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, invalid("request body is not valid JSON (at byte %d)", syn.Offset)
		}
		return nil, invalid("request body is not valid JSON")
	}
	return tok, nil
}

func (d *decoder) key() (string, error) {
	tok, err := d.token()
	if err != nil {
		return "", err
	}
	key, ok := tok.(string)
	if !ok {
		return "", invalid("request body is not valid JSON")
	}
	return key, nil
}

// value decodes the value whose first token is tok. depth counts the lists
// and maps that enclose it within the item.
func (d *decoder) value(tok json.Token, depth int) (any, error) {
	switch v := tok.(type) {
	case json.Delim:
		if depth+1 > MaxDepth {
			return nil, invalid("attributes nest more than %d levels deep", MaxDepth)
		}
		if v == '{' {
			return d.object(depth + 1)
		}
		return d.list(depth + 1)
	case json.Number:
		n, err := CanonicalNumber(string(v))
		if err != nil {
			return nil, err
		}
		return json.Number(n), nil
	case string, bool, nil:
		return v, nil
	}
	return nil, invalid("request body is not valid JSON")
}

func (d *decoder) object(depth int) (map[string]any, error) {
	m := make(map[string]any)
	for d.dec.More() {
		key, err := d.key()
		if err != nil {
			return nil, err
		}
		if key == "" {
			return nil, invalid("attribute names must not be empty")
		}
		if _, dup := m[key]; dup {
			return nil, invalid("attribute %q appears more than once", truncate(key))
		}
		tok, err := d.token()
		if err != nil {
			return nil, err
		}
		v, err := d.value(tok, depth)
		if err != nil {
			return nil, err
		}
		m[key] = v
	}
	if _, err := d.token(); err != nil {
		return nil, err
	}
	return m, nil
}

func (d *decoder) list(depth int) ([]any, error) {
	l := []any{}
	for d.dec.More() {
		tok, err := d.token()
		if err != nil {
			return nil, err
		}
		v, err := d.value(tok, depth)
		if err != nil {
			return nil, err
		}
		l = append(l, v)
	}
	if _, err := d.token(); err != nil {
		return nil, err
	}
	return l, nil
}

// checkSurrogates rejects \u escapes of UTF-16 surrogates that do not form
// a pair. encoding/json would turn each into U+FFFD, so two different ids
// would silently become the same one.
func checkSurrogates(body []byte) error {
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' {
			continue
		}
		if i+1 >= len(body) || body[i+1] != 'u' {
			i++ // an escape of one character; skipping it keeps "\\u" from looking like "\u"
			continue
		}
		r, ok := hex4(body, i+2)
		switch {
		case !ok:
			i++ // not a valid escape; the decoder reports it
		case r >= 0xdc00 && r <= 0xdfff:
			return invalid("request body has an unpaired UTF-16 surrogate escape (\\u%04X)", r)
		case r >= 0xd800 && r <= 0xdbff:
			var low rune
			ok := i+7 < len(body) && body[i+6] == '\\' && body[i+7] == 'u'
			if ok {
				low, ok = hex4(body, i+8)
			}
			if !ok || low < 0xdc00 || low > 0xdfff {
				return invalid("request body has an unpaired UTF-16 surrogate escape (\\u%04X)", r)
			}
			i += 11
		default:
			i += 5
		}
	}
	return nil
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// reserved are the attribute names the service owns, by their skeleton.
var reserved = map[string]string{
	skeleton(AttrUserID): AttrUserID, skeleton(AttrCreatedAt): AttrCreatedAt, skeleton(AttrCreatedBy): AttrCreatedBy,
}

// lookalike reports whether name would be read as one of the service's own
// attribute names without being it (a second "CreatedBy" row on a page,
// shown next to the real one), and which.
func lookalike(name string) (string, bool) {
	own, ok := reserved[skeleton(name)]
	return own, ok && name != own
}

// skeleton is what a reader sees of a name: its compatibility
// decomposition (so that full-width and other variant letters read as the
// plain ones, and accents come apart from their letters), without the
// characters that show nothing or little (format characters such as
// zero-width spaces and joiners, combining marks, spaces, controls,
// variation selectors and other default-ignorable code points), folded to
// one case.
func skeleton(name string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(name) {
		if invisible(r) {
			continue
		}
		b.WriteRune(unicode.ToLower(unicode.ToUpper(r)))
	}
	return b.String()
}

func invisible(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Mn, unicode.Me, unicode.Cc, unicode.Z,
		unicode.White_Space, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point) ||
		r == '\u2800' // braille blank, a common invisible filler
}

// truncate keeps error messages short when they quote a name from the input.
func truncate(s string) string {
	const maxQuoted = 64
	if len(s) <= maxQuoted {
		return s
	}
	for i := maxQuoted; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i] + "…"
		}
	}
	return ""
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return "a string"
}
