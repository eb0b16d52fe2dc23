package idp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/usersvc/usersvc/web/idp/users"
)

// Cognito's JSON API (AWS JSON 1.1) on the provider's origin: POST / with
// X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>. This file is
// the wire: dispatch, strict decoding, and the one error funnel; the
// operations live in cognito_public.go and cognito_admin.go.

// MaxAPIBody bounds a request body of the JSON API. Cognito's largest
// requests (AdminCreateUser with every attribute, ClientMetadata) are a few
// kilobytes.
const MaxAPIBody = 64 << 10

const targetPrefix = "AWSCognitoIdentityProviderService."

// apiError is an error as Cognito's API reports it: HTTP 400 (unless
// status says otherwise) with {"__type": Type, "message": Message}, which
// SDKs turn into their typed exceptions.
type apiError struct {
	Type    string
	Message string
	Status  int
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

func apiErr(typ, format string, args ...any) *apiError {
	return &apiError{Type: typ, Message: fmt.Sprintf(format, args...)}
}

// Cognito's exception names.
const (
	excNotAuthorized       = "NotAuthorizedException"
	excUserNotFound        = "UserNotFoundException"
	excUsernameExists      = "UsernameExistsException"
	excAliasExists         = "AliasExistsException"
	excCodeMismatch        = "CodeMismatchException"
	excExpiredCode         = "ExpiredCodeException"
	excInvalidPassword     = "InvalidPasswordException"
	excInvalidParameter    = "InvalidParameterException"
	excUserNotConfirmed    = "UserNotConfirmedException"
	excLimitExceeded       = "LimitExceededException"
	excTooManyRequests     = "TooManyRequestsException"
	excPasswordReset       = "PasswordResetRequiredException"
	excResourceNotFound    = "ResourceNotFoundException"
	excSerialization       = "SerializationException"
	excUnknownOperation    = "UnknownOperationException"
	excInternal            = "InternalErrorException"
	excUnsupportedToken    = "UnsupportedTokenTypeException"
	excGroupExists         = "GroupExistsException"
	excUnexpectedLambda    = "UnexpectedLambdaException"
	excMissingAuthToken    = "MissingAuthenticationTokenException"
	excUnrecognizedClient  = "UnrecognizedClientException"
	excInvalidSignature    = "InvalidSignatureException"
	excIncompleteSignature = "IncompleteSignatureException"
)

// operation is one API operation: its handler, and whether it needs AWS
// credentials (the Admin* and pool-management operations).
type operation struct {
	admin bool
	call  func(ctx context.Context, body []byte) (any, error)
}

// op adapts a typed handler: the body is decoded strictly into In first.
func op[In any](admin bool, f func(context.Context, *In) (any, error)) operation {
	return operation{admin: admin, call: func(ctx context.Context, body []byte) (any, error) {
		in := new(In)
		if err := decodeStrict(body, in); err != nil {
			return nil, err
		}
		return f(ctx, in)
	}}
}

// decodeStrict decodes one JSON object into v, refusing what Cognito
// refuses: malformed JSON, a value of the wrong type, a member the
// operation does not have, and anything after the object.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return apiErr(excSerialization, "%s: expected %s, got a JSON %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
		case errors.As(err, &te):
			return apiErr(excSerialization, "the request body must be a JSON object")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return apiErr(excSerialization, "unknown member %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return apiErr(excSerialization, "the request body is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return apiErr(excSerialization, "the request body has data after its JSON object")
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "map", "struct":
		return "an object"
	case "slice":
		return "a list"
	case "bool":
		return "a boolean"
	}
	return "a number"
}

// required refuses an empty member, in Cognito's words.
func required(name, v string) error {
	if v == "" {
		return apiErr(excInvalidParameter, "1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", name)
	}
	return nil
}

// maxLen refuses a member longer than Cognito allows.
func maxLen(name, v string, n int) error {
	if len(v) > n {
		return apiErr(excInvalidParameter, "1 validation error detected: Value at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", name, n)
	}
	return nil
}

// serveAPI is POST /: one call of Cognito's API.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	reqID := newUUID()
	h := w.Header()
	h.Set("x-amzn-RequestId", reqID)
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "x-amzn-RequestId, x-amzn-ErrorType, x-amzn-ErrorMessage, Date")
	h.Set("Cache-Control", "no-store")
	target := r.Header.Get("X-Amz-Target")
	name, ok := strings.CutPrefix(target, targetPrefix)
	o, known := s.api[name]
	if !ok || !known {
		s.apiError(w, r, "", apiErr(excUnknownOperation, "unknown operation %q", truncate(target, 128)))
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil ||
		(mt != "application/x-amz-json-1.1" && mt != "application/x-amz-json-1.0" && mt != "application/json") {
		s.apiError(w, r, name, apiErr(excSerialization, "Content-Type must be application/x-amz-json-1.1"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxAPIBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.apiError(w, r, name, &apiError{Type: excInvalidParameter, Message: fmt.Sprintf("the request body is larger than %d bytes", MaxAPIBody), Status: http.StatusRequestEntityTooLarge})
			return
		}
		s.apiError(w, r, name, apiErr(excSerialization, "the request body could not be read"))
		return
	}
	if o.admin {
		if err := s.checkSignature(r, body); err != nil {
			s.apiError(w, r, name, err)
			return
		}
	}
	ctx := context.WithValue(r.Context(), apiRequestKey{}, r)
	out, err := o.call(ctx, body)
	if err != nil {
		s.apiError(w, r, name, err)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		s.apiError(w, r, name, fmt.Errorf("encode %s response: %w", name, err))
		return
	}
	h.Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// apiError is the API's one error funnel: Cognito errors as Cognito sends
// them, anything else logged and answered as an internal error without
// its details.
func (s *Server) apiError(w http.ResponseWriter, r *http.Request, opName string, err error) {
	var e *apiError
	switch {
	case errors.Is(err, users.ErrBusy):
		// Every hashing slot was taken: worth a retry shortly.
		w.Header().Set("Retry-After", strconv.Itoa(int(users.HashRetryAfter/time.Second)))
		err = apiErr(excTooManyRequests, "Too many requests at the moment. Please try again in a moment.")
	case errors.Is(err, ErrMailLimit):
		err = apiErr(excLimitExceeded, "Attempt limit exceeded, please try after some time.")
	}
	if !errors.As(err, &e) {
		if errors.Is(err, context.Canceled) {
			e = apiErr(excInternal, "request cancelled")
		} else {
			s.log.ErrorContext(r.Context(), "cognito api", "operation", opName, "error", err)
			e = &apiError{Type: excInternal, Message: "Internal error", Status: http.StatusInternalServerError}
		}
	} else {
		s.log.InfoContext(r.Context(), "cognito api refused", "operation", opName, "type", e.Type)
	}
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	b, _ := json.Marshal(map[string]string{"__type": e.Type, "message": e.Message})
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("x-amzn-ErrorType", e.Type)
	w.WriteHeader(status)
	w.Write(b)
}

// apiPreflight answers a browser's CORS preflight for POST / (browser
// SDKs such as amazon-cognito-identity-js call from their own origin).
func (s *Server) apiPreflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST")
	h.Set("Access-Control-Allow-Headers", "Content-Type, X-Amz-Target, X-Amz-User-Agent, X-Amz-Date, X-Amz-Security-Token, X-Amz-Content-Sha256, Authorization, Amz-Sdk-Invocation-Id, Amz-Sdk-Request, Cache-Control")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// truncate caps a caller-controlled string before it is echoed or logged.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
