package portal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/web/portal/pages"
)

// Limits of the Create user form. The API takes bodies up to 1 MiB; the
// form's encoding may double that.
const (
	maxFormBytes = 2*api.MaxBodyBytes + 4096
	maxRows      = 50
)

// MaxRequestBody is the largest request body any of the portal's routes
// reads (the Create user form's); a gateway in front of the portal need
// take no more.
const MaxRequestBody = maxFormBytes

// formReadError is why the posted form could not be read at all: the
// status to answer with and the message shown above the form (a sentence
// for people, hence its capital).
type formReadError struct {
	status int
	msg    string
}

// readCreateForm reads the posted form, keeping what was typed so it can be
// shown again, and the button pressed ("create" or "add-row"). Only a body
// over the limit is 413; any other failure to read it (a malformed
// encoding, a connection cut short) is the client's and 400.
func readCreateForm(w http.ResponseWriter, r *http.Request) (pages.CreateForm, string, *formReadError) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		blank := pages.CreateForm{Rows: make([]pages.Row, blankRows)}
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return blank, "", &formReadError{http.StatusRequestEntityTooLarge, "The form is too large: a user may hold at most 400 KB."}
		}
		return blank, "", &formReadError{http.StatusBadRequest, "The form could not be read; send it again."}
	}
	pf := r.PostForm
	f := pages.CreateForm{
		UserID:     pf.Get(api.AttrUserID),
		Attributes: pf.Get("Attributes"),
	}
	names, types, values := pf["name"], pf["type"], pf["value"]
	n := max(len(names), len(types), len(values))
	n = min(n, maxRows)
	at := func(s []string, i int) string {
		if i < len(s) {
			return s[i]
		}
		return ""
	}
	for i := range n {
		f.Rows = append(f.Rows, pages.Row{Name: at(names, i), Type: at(types, i), Value: at(values, i)})
	}
	if len(f.Rows) == 0 {
		f.Rows = make([]pages.Row, blankRows)
	}
	return f, pf.Get("action"), nil
}

// formError is a problem with one input of the form. Its msg is shown to
// the user next to that input, as a sentence; lower-case Go errors from
// deeper down (rowValue's, say) are wrapped into it.
type formError struct {
	field string
	msg   string
}

func (e *formError) Error() string { return e.msg }

func fieldError(field, format string, args ...any) *formError {
	return &formError{field: field, msg: fmt.Sprintf(format, args...)}
}

// buildItem turns the form into an item: the User ID, the JSON object of
// the Attributes textarea, and the rows, each read as its type. It checks
// what the portal can check itself; the API checks the rest (sizes, number
// ranges, nesting) and its messages are shown the same way.
func buildItem(f pages.CreateForm) (api.Item, *formError) {
	id := strings.TrimSpace(f.UserID)
	if err := api.ValidateUserID(id); err != nil {
		return nil, fieldError(api.AttrUserID, "User ID: %s", err)
	}
	item := api.Item{}
	if strings.TrimSpace(f.Attributes) != "" {
		obj, err := decodeJSON(f.Attributes)
		m, isObject := obj.(map[string]any)
		if err != nil || !isObject {
			return nil, fieldError("Attributes", `Attributes must be a JSON object, such as {"Name": "Ada", "Age": 36}`)
		}
		for k, v := range m {
			item[k] = v
		}
	}
	if v, ok := item[api.AttrUserID]; ok && v != id {
		return nil, fieldError("Attributes", "Attributes has a UserId different from the User ID field; give it in the User ID field only")
	}
	for i, row := range f.Rows {
		field := fmt.Sprintf("row-%d", i)
		name := strings.TrimSpace(row.Name)
		if name == "" {
			if strings.TrimSpace(row.Value) != "" {
				return nil, fieldError(field, "Row %d has a value but no name", i+1)
			}
			continue
		}
		if _, dup := item[name]; dup {
			return nil, fieldError(field, "Attribute %q is given twice", name)
		}
		v, err := rowValue(row)
		if err != nil {
			return nil, fieldError(field, "Row %d (%s): %s", i+1, name, err)
		}
		item[name] = v
	}
	item[api.AttrUserID] = id
	return item, nil
}

// rowValue reads a row's value as its declared type.
func rowValue(row pages.Row) (any, error) {
	val := strings.TrimSpace(row.Value)
	switch row.Type {
	case "", "string":
		return row.Value, nil
	case "number":
		v, err := decodeJSON(val)
		n, ok := v.(json.Number)
		if err != nil || !ok {
			return nil, errors.New("not a number (write it like 42, -1.5 or 6.02e23)")
		}
		return n, nil
	case "boolean":
		switch strings.ToLower(val) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, errors.New("a boolean is true or false")
	case "null":
		if val != "" && val != "null" {
			return nil, errors.New("a null takes no value")
		}
		return nil, nil
	case "json":
		v, err := decodeJSON(val)
		if err != nil {
			return nil, errors.New("not valid JSON")
		}
		return v, nil
	}
	return nil, fmt.Errorf("unknown type %q", row.Type)
}

// decodeJSON reads exactly one JSON value, keeping numbers as written.
func decodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}
