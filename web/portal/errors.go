package portal

import (
	"context"
	"errors"
	"net/http"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/api/client"
	"github.com/usersvc/usersvc/web/portal/pages"
	"github.com/usersvc/usersvc/web/portal/session"
	"github.com/usersvc/usersvc/web/requestlog"
)

// errorPage renders the error page with the request id.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, sess *session.Session, e pages.Error) {
	e.RequestID = requestID(r.Context())
	s.render(w, r, e.Status, pages.ErrorPage(s.layout(w, r, sess, e.Title, ""), e))
}

// statusClientClosed is what the access log records for a request whose
// client went away before the answer (nginx's code for it): no one reads
// the answer, and it is not the portal's error.
const statusClientClosed = 499

// clientGone reports whether err is the request's own context cancelled,
// the client having gone away (a closed tab, a dropped connection, API
// Gateway's timeout), and if so answers 499 with an INFO line: it is no
// failure of the portal's, and paging someone for it would be noise.
func (s *Server) clientGone(w http.ResponseWriter, r *http.Request, err error) bool {
	if r.Context().Err() == nil || !errors.Is(err, context.Canceled) {
		return false
	}
	s.log.InfoContext(r.Context(), "the client went away", "request_id", requestID(r.Context()), "error", err)
	w.WriteHeader(statusClientClosed)
	return true
}

// serverError logs err and shows the 500 page, which says nothing of it.
func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if s.clientGone(w, r, err) {
		return
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "internal error", "request_id", requestID(r.Context()), "error", err)
	}
	e := pages.Error{
		Status:    http.StatusInternalServerError,
		Title:     "Something went wrong",
		Message:   "The portal could not complete your request. If it keeps happening, quote the request id below.",
		RequestID: requestID(r.Context()),
	}
	// No session lookup here: the failure may be the session store's.
	s.render(w, r, e.Status, pages.ErrorPage(s.layout(w, r, nil, e.Title, ""), e))
}

// storeDown answers when the session store failed: a store that is
// unavailable or throttled (DynamoDB shedding load, say) gets the friendly
// 503 page with Retry-After; anything else is the 500 page. Either way the
// request changed nothing it could leave half-done: each request makes at
// most one store write that matters, and it is the one that failed. (The
// sign-in callback's rotation is the exception: see abandonSignIn.)
func (s *Server) storeDown(w http.ResponseWriter, r *http.Request, err error) {
	s.storeFailed(w, r, err, storeDownMessage)
}

const (
	storeDownMessage  = "The portal could not reach its session store just now. Nothing was changed; try again in a moment. If it keeps happening, quote the request id below."
	signInLostMessage = "The portal could not save your sign-in just now, so you are signed out. Sign in again in a moment. If it keeps happening, quote the request id below."
)

// storeFailed is storeDown with the 503 page's message, which must say
// truthfully what the failure left behind.
func (s *Server) storeFailed(w http.ResponseWriter, r *http.Request, err error, msg string) {
	if s.clientGone(w, r, err) {
		return
	}
	if !errors.Is(err, session.ErrUnavailable) {
		s.serverError(w, r, err)
		return
	}
	s.log.WarnContext(r.Context(), "session store unavailable", "request_id", requestID(r.Context()), "error", err)
	w.Header().Set("Retry-After", "5")
	// No session: that is what could not be read.
	s.errorPage(w, r, nil, pages.Error{
		Status:  http.StatusServiceUnavailable,
		Title:   "The portal is busy",
		Message: msg,
	})
}

// providerDown answers when the identity provider cannot be reached.
func (s *Server) providerDown(w http.ResponseWriter, r *http.Request, sess *session.Session, err error) {
	if s.clientGone(w, r, err) {
		return
	}
	s.log.WarnContext(r.Context(), "identity provider unavailable", "request_id", requestID(r.Context()), "error", err)
	w.Header().Set("Retry-After", "5")
	s.errorPage(w, r, sess, pages.Error{
		Status:  http.StatusServiceUnavailable,
		Title:   "Sign-in is unavailable",
		Message: "The sign-in service is not answering right now. Try again in a moment.",
	})
}

// signInFailed answers a callback that cannot complete a sign-in.
func (s *Server) signInFailed(w http.ResponseWriter, r *http.Request, sess *session.Session, status int, msg string) {
	s.errorPage(w, r, sess, pages.Error{
		Status:  status,
		Title:   "Sign-in failed",
		Message: msg + " Start again from Sign in.",
		SignIn:  true,
	})
}

func (s *Server) forbidden(w http.ResponseWriter, r *http.Request, sess *session.Session) {
	s.errorPage(w, r, sess, pages.Error{
		Status:  http.StatusForbidden,
		Title:   "Not for you, sorry",
		Message: "This page is for administrators (members of the admins group). Ask one if you need access.",
	})
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	sess, _ := s.current(w, r) // a store failure need not hide a 404
	s.errorPage(w, r, sess, pages.Error{
		Status:  http.StatusNotFound,
		Title:   "Page not found",
		Message: "There is no page at this address.",
	})
}

func (s *Server) handleCrossOrigin(w http.ResponseWriter, r *http.Request) {
	s.log.WarnContext(r.Context(), "cross-origin form post refused", "request_id", requestID(r.Context()), "path", requestlog.Clip(r.URL.Path))
	s.errorPage(w, r, nil, pages.Error{
		Status:  http.StatusForbidden,
		Title:   "Request refused",
		Message: "This form was sent from another site, so the portal did not act on it. Use the portal's own pages.",
	})
}

// apiError is the one place where the HTTP API's failures become pages;
// the API's own messages for bad input are shown by the forms themselves.
func (s *Server) apiError(w http.ResponseWriter, r *http.Request, sess *session.Session, err error) {
	ctx := r.Context()
	if s.clientGone(w, r, err) {
		return
	}
	var ce *client.Error
	apiRequest := ""
	if errors.As(err, &ce) {
		apiRequest = ce.RequestID
	}
	s.log.WarnContext(ctx, "api call failed", "request_id", requestID(ctx), "api_request_id", apiRequest, "error", err)
	switch {
	case errors.Is(err, client.ErrForbidden):
		s.forbidden(w, r, sess)
	case errors.Is(err, client.ErrUnauthorized):
		s.errorPage(w, r, sess, pages.Error{
			Status:  http.StatusUnauthorized,
			Title:   "Your sign-in was not accepted",
			Message: "The user service did not accept your sign-in. Sign out and sign in again.",
		})
	case errors.Is(err, api.ErrUnavailable):
		w.Header().Set("Retry-After", "5")
		s.errorPage(w, r, sess, pages.Error{
			Status:  http.StatusServiceUnavailable,
			Title:   "The user service is unavailable",
			Message: "The user service is not answering right now. Nothing was changed; try again in a moment.",
		})
	case errors.Is(err, client.ErrInvalid) && ce != nil:
		s.errorPage(w, r, sess, pages.Error{
			Status:  http.StatusBadRequest,
			Title:   "That request was refused",
			Message: ce.Message,
		})
	default:
		s.errorPage(w, r, sess, pages.Error{
			Status:  http.StatusInternalServerError,
			Title:   "Something went wrong",
			Message: "The user service could not complete your request. If it keeps happening, quote the request id below.",
		})
	}
}
