package portal

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"

	"github.com/a-h/templ"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/api/client"
	"github.com/usersvc/usersvc/static"
	"github.com/usersvc/usersvc/web/portal/pages"
	"github.com/usersvc/usersvc/web/portal/session"
)

// layout is the frame of a page for this session; it consumes the flash.
func (s *Server) layout(w http.ResponseWriter, r *http.Request, sess *session.Session, title, section string) pages.Layout {
	l := pages.Layout{
		Title:   title,
		Section: section,
		CSS:     static.Path("portal.css"),
		Logo:    static.Path("logo.svg"),
		Flash:   s.takeFlash(w, r, sess),
	}
	if sess != nil && sess.User != nil {
		l.User = &pages.User{
			Email:    sess.User.Email,
			Username: sess.User.Username,
			Admin:    sess.User.InGroup(api.AdminGroup),
		}
	}
	return l
}

// render writes c with status, rendering it fully first so that a failure
// can still become the 500 page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		s.log.ErrorContext(r.Context(), "render page", "request_id", requestID(r.Context()), "error", err)
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("<!DOCTYPE html><title>Error</title><p>Something went wrong. Request id " + requestID(r.Context()) + "</p>")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	sess, err := s.current(w, r)
	if err != nil {
		s.storeDown(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, pages.Home(s.layout(w, r, sess, "Home", "home")))
}

func (s *Server) handleProfile(w http.ResponseWriter, r *http.Request) {
	sess := s.signedIn(w, r)
	if sess == nil {
		return
	}
	u := sess.User
	p := pages.Profile{
		Email:         u.Email,
		EmailVerified: u.EmailVerified,
		Username:      u.Username,
		Subject:       u.Subject,
		Groups:        u.Groups,
		AuthTime:      u.AuthTime,
		TokenExpiry:   sess.Tokens.Expiry,
		SessionEnds:   sess.Created.Add(AbsoluteTimeout),
	}
	s.render(w, r, http.StatusOK, pages.ProfilePage(s.layout(w, r, sess, "Profile", "profile"), p))
}

// blankRows is how many empty attribute rows a new form offers.
const blankRows = 3

func (s *Server) handleCreateForm(w http.ResponseWriter, r *http.Request) {
	sess := s.signedIn(w, r)
	if sess == nil {
		return
	}
	f := pages.CreateForm{Rows: make([]pages.Row, blankRows)}
	s.render(w, r, http.StatusOK, pages.CreatePage(s.layout(w, r, sess, "Create user", "create"), f))
}

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	sess := s.signedIn(w, r)
	if sess == nil {
		return
	}
	f, action, rerr := readCreateForm(w, r)
	if rerr != nil {
		f.Error, f.Field = rerr.msg, ""
		s.render(w, r, rerr.status, pages.CreatePage(s.layout(w, r, sess, "Create user", "create"), f))
		return
	}
	if action == "add-row" {
		if len(f.Rows) < maxRows {
			f.Rows = append(f.Rows, pages.Row{})
		}
		s.render(w, r, http.StatusOK, pages.CreatePage(s.layout(w, r, sess, "Create user", "create"), f))
		return
	}
	item, ferr := buildItem(f)
	if ferr != nil {
		f.Error, f.Field = ferr.msg, ferr.field
		s.render(w, r, http.StatusBadRequest, pages.CreatePage(s.layout(w, r, sess, "Create user", "create"), f))
		return
	}
	stored, err := s.users.CreateUser(r.Context(), sess.Tokens.AccessToken, item)
	if err != nil {
		var ce *client.Error
		if errors.As(err, &ce) {
			switch ce.Status {
			case http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge:
				f.Error = ce.Message
				if ce.Status == http.StatusConflict {
					f.Field = "UserId"
				}
				s.render(w, r, ce.Status, pages.CreatePage(s.layout(w, r, sess, "Create user", "create"), f))
				return
			}
		}
		s.apiError(w, r, sess, err)
		return
	}
	id := pages.UserID(stored)
	s.log.InfoContext(r.Context(), "user created", "request_id", requestID(r.Context()), "sub", sess.User.Subject)
	s.setFlash(w, r, sess, "Created user "+id+".")
	http.Redirect(w, r, string(pages.UserURL(id)), http.StatusSeeOther)
}

func (s *Server) handleLookup(w http.ResponseWriter, r *http.Request) {
	sess := s.signedIn(w, r)
	if sess == nil {
		return
	}
	q := r.URL.Query()
	// Not trimmed: ids may hold spaces, and the Users page links to them
	// exactly.
	v := pages.Lookup{UserID: q.Get(api.AttrUserID), Asked: q.Has(api.AttrUserID)}
	l := s.layout(w, r, sess, "Look up", "lookup")
	if !v.Asked {
		s.render(w, r, http.StatusOK, pages.LookupPage(l, v))
		return
	}
	if err := api.ValidateUserID(v.UserID); err != nil {
		v.Error = "User ID: " + err.Error()
		s.render(w, r, http.StatusBadRequest, pages.LookupPage(l, v))
		return
	}
	item, err := s.users.GetUser(r.Context(), sess.Tokens.AccessToken, v.UserID)
	switch {
	case errors.Is(err, api.ErrNotFound):
		s.render(w, r, http.StatusNotFound, pages.LookupPage(l, v))
		return
	case err != nil:
		s.apiError(w, r, sess, err)
		return
	}
	v.Item = item
	l.Title = "User " + v.UserID
	s.render(w, r, http.StatusOK, pages.LookupPage(l, v))
}

// maxPageTrail bounds the Users listing's memory of previous pages.
const maxPageTrail = 100

// maxEmptyPages is how many empty pages with a cursor the Users page
// follows before it shows one: a listing filtered by creator may come
// back empty while more follows (the API bounds the work of one page), and
// a run of empty pages to click through helps nobody.
const maxEmptyPages = 4

func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request) {
	sess := s.signedIn(w, r)
	if sess == nil {
		return
	}
	if !sess.User.InGroup(api.AdminGroup) {
		s.forbidden(w, r, sess)
		return
	}
	q := r.URL.Query()
	createdBy := q.Get("createdBy")
	title := "Users"
	if q.Has("createdBy") {
		// Checked here too, so that a bad address gets the portal's own
		// page without a call to the API.
		if err := api.ValidateCreatedBy(createdBy); err != nil {
			s.errorPage(w, r, sess, pages.Error{
				Status:  http.StatusBadRequest,
				Title:   "Not an account's items",
				Message: "This address does not name an account: " + err.Error() + ".",
			})
			return
		}
		title = "Items created by " + createdBy
	}
	cursor := q.Get("cursor")
	lq := client.ListQuery{Limit: pageSize, Cursor: cursor, CreatedBy: createdBy}
	var page client.Page
	for tries := 0; ; tries++ {
		var err error
		if page, err = s.users.ListUsers(r.Context(), sess.Tokens.AccessToken, lq); err != nil {
			s.apiError(w, r, sess, err)
			return
		}
		if len(page.Users) > 0 || page.Cursor == "" || tries == maxEmptyPages {
			break
		}
		lq.Cursor = page.Cursor
	}
	v := pages.Users{Users: make([]map[string]any, len(page.Users)), CreatedBy: createdBy}
	for i, u := range page.Users {
		v.Users[i] = u
	}
	if page.Cursor != "" {
		v.Next = usersURL(createdBy, page.Cursor)
		// The API binds cursors to their filter, so one trail serves
		// every filter without a cursor of one meaning a page of another.
		if prev, ok := sess.Pages[page.Cursor]; !ok || prev != cursor {
			updated, err := s.sessions.Update(r.Context(), sess, func(x *session.Session) error {
				if x.Pages == nil || len(x.Pages) >= maxPageTrail {
					x.Pages = map[string]string{}
				}
				x.Pages[page.Cursor] = cursor
				return nil
			})
			if err != nil {
				s.log.ErrorContext(r.Context(), "remember page", "request_id", requestID(r.Context()), "error", err)
			} else {
				sess = updated
			}
		}
	}
	if cursor != "" {
		// A page reached by a link from elsewhere has no known
		// predecessor; the first page is the honest way back.
		v.Prev = usersURL(createdBy, sess.Pages[cursor])
	}
	s.render(w, r, http.StatusOK, pages.UsersPage(s.layout(w, r, sess, title, "users"), v))
}

// usersURL is the address of the Users page at cursor ("" for the first
// page), of the items createdBy created ("" for every item).
func usersURL(createdBy, cursor string) string {
	v := url.Values{}
	if createdBy != "" {
		v.Set("createdBy", createdBy)
	}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	if len(v) == 0 {
		return "/admin/users"
	}
	return "/admin/users?" + v.Encode()
}

// itemsURL is the Users page of the items the account sub created: where
// an account's page in the admin screens links.
func itemsURL(sub string) string { return usersURL(sub, "") }
