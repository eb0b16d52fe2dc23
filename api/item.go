package api

// Item is one stored user: the attributes of a JSON object. Values are, recursively,
// string, json.Number, bool, nil, []any and map[string]any. An Item produced by
// Parse (and so any Item a Store holds) has a valid string UserId, numbers in
// DynamoDB's canonical form, nesting within DynamoDB's 32 levels and a
// DynamoDB size within 400 KB.
type Item map[string]any

// Attribute names the service owns.
const (
	AttrUserID    = "UserId"
	AttrCreatedAt = "CreatedAt"
	AttrCreatedBy = "CreatedBy"
)
