package portal

import (
	"context"
	"net/http"

	"github.com/usersvc/usersvc/web/portal/admin"
	"github.com/usersvc/usersvc/web/portal/pages"
	"github.com/usersvc/usersvc/web/portal/session"
)

// adminPortal is what the account screens need from the portal.
type adminPortal struct{ s *Server }

func (p adminPortal) Visit(w http.ResponseWriter, r *http.Request) (admin.Visit, bool) {
	sess := p.s.signedIn(w, r)
	if sess == nil {
		return nil, false
	}
	return &adminVisit{s: p.s, w: w, r: r, sess: sess}, true
}

func (p adminPortal) RequestID(ctx context.Context) string { return requestID(ctx) }

type adminVisit struct {
	s    *Server
	w    http.ResponseWriter
	r    *http.Request
	sess *session.Session
}

func (v *adminVisit) Viewer() admin.Viewer {
	u := v.sess.User
	return admin.Viewer{Subject: u.Subject, Username: u.Username, Groups: u.Groups}
}

func (v *adminVisit) Layout(title string) pages.Layout {
	return v.s.layout(v.w, v.r, v.sess, title, admin.Section)
}

func (v *adminVisit) Flash(msg string) { v.sess = v.s.setFlash(v.w, v.r, v.sess, msg) }
