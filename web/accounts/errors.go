package accounts

import (
	"context"
	"errors"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	transport "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// The kinds of failure an *Error is; test with errors.Is.
var (
	// ErrNotFound: no such account (it may have been deleted since it was
	// listed).
	ErrNotFound = errors.New("account not found")
	// ErrExists: an account with that username or email exists already.
	ErrExists = errors.New("account exists")
	// ErrInvalid: Cognito, or the Service before it, refused the input;
	// the Error's Message says why, in words fit to show.
	ErrInvalid = errors.New("invalid input")
	// ErrRefused: the account's state does not allow the change (a
	// password reset of an account that never set one, for instance);
	// the Error's Message is Cognito's reason.
	ErrRefused = errors.New("refused by cognito")
	// ErrUnavailable: Cognito is throttling the caller, failing, or cannot
	// be reached. Nothing was changed that the caller can know of; trying
	// again later is the remedy.
	ErrUnavailable = errors.New("cognito unavailable")
)

// Error is a failed Cognito call, or input refused before one.
type Error struct {
	// Op is the Cognito operation, such as "AdminDisableUser".
	Op string
	// Kind is one of the Err* sentinels, or nil for a failure none of them
	// describes (a missing permission, a missing pool: a fault of the set-up).
	Kind error
	// RequestID is Cognito's id of the request, "" when no answer came.
	RequestID string
	// Message is Cognito's (or the Service's) explanation, fit to show to
	// an administrator; "" when there is none worth showing.
	Message string
	// Err is the SDK's error, nil when the Service refused the input itself.
	Err error
}

func (e *Error) Error() string {
	msg := e.Op
	if e.Kind != nil {
		msg += ": " + e.Kind.Error()
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.RequestID != "" {
		msg += " (request id " + e.RequestID + ")"
	}
	return msg
}

// Is makes errors.Is(err, ErrNotFound) and its kin work.
func (e *Error) Is(target error) bool { return e.Kind != nil && target == e.Kind }

// Unwrap exposes the SDK's error, for errors.As with its typed exceptions.
func (e *Error) Unwrap() error { return e.Err }

// classify turns an SDK error from op into an *Error; nil stays nil.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	e := &Error{Op: op, Err: err}
	var re *transport.ResponseError
	if errors.As(err, &re) {
		e.RequestID = re.ServiceRequestID()
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "UserNotFoundException":
			e.Kind = ErrNotFound
		case "UsernameExistsException", "AliasExistsException":
			e.Kind = ErrExists
		case "InvalidParameterException", "InvalidPasswordException":
			e.Kind, e.Message = ErrInvalid, api.ErrorMessage()
		case "NotAuthorizedException", "UnsupportedUserStateException", "UserNotConfirmedException":
			// With AWS credentials these speak of the account's state, not
			// of the caller: a bad signature is UnrecognizedClient or
			// InvalidSignature, a missing permission AccessDenied.
			e.Kind, e.Message = ErrRefused, api.ErrorMessage()
		case "TooManyRequestsException", "LimitExceededException", "ThrottlingException",
			"InternalErrorException", "InternalServerException", "ServiceUnavailable", "ServiceUnavailableException", "RequestTimeout":
			e.Kind = ErrUnavailable
		default:
			if re != nil && re.HTTPStatusCode() >= http.StatusInternalServerError {
				e.Kind = ErrUnavailable
			}
		}
		return e
	}
	var send *smithyhttp.RequestSendError
	var quota ratelimit.QuotaExceededError
	switch {
	case errors.As(err, &send), errors.As(err, &quota), errors.Is(err, context.DeadlineExceeded):
		e.Kind = ErrUnavailable
	case re != nil && re.HTTPStatusCode() >= http.StatusInternalServerError:
		// A 5xx without a Cognito error in it: a proxy or load balancer.
		e.Kind = ErrUnavailable
	}
	return e
}

// RequestID returns Cognito's request id carried by err, or "".
func RequestID(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.RequestID
	}
	return ""
}

// Message returns the explanation carried by err fit to show, or "".
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}
