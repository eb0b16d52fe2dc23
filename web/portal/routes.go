package portal

import (
	"net/http"

	"github.com/usersvc/usersvc/static"
	"github.com/usersvc/usersvc/web/httpserve"
	"github.com/usersvc/usersvc/web/portal/admin"
)

// routes is every route of the portal, and the middleware around them.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	pages := func(h http.HandlerFunc) http.Handler { return noStore(h) }

	mux.Handle("GET /{$}", pages(s.handleHome))
	mux.Handle("GET /profile", pages(s.handleProfile))
	mux.Handle("GET /user/new", pages(s.handleCreateForm))
	mux.Handle("POST /user/new", pages(s.handleCreate))
	mux.Handle("GET /user", pages(s.handleLookup))
	mux.Handle("GET /admin/users", pages(s.handleUsers))
	if s.cfg.Accounts != nil {
		accounts := admin.New(admin.Config{Accounts: s.cfg.Accounts, Portal: adminPortal{s}, Log: s.log, ItemsURL: itemsURL})
		mux.Handle(admin.Prefix, accounts)
		mux.Handle(admin.Prefix+"/", accounts)
	}

	mux.Handle("GET /auth/login", pages(s.handleLogin(false)))
	mux.Handle("GET /auth/signup", pages(s.handleLogin(true)))
	mux.Handle("GET /auth/callback", pages(s.handleCallback))
	mux.Handle("POST /auth/logout", pages(s.handleLogout))

	mux.Handle("GET "+static.Prefix, static.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.Handle("/", pages(s.handleNotFound))

	// Forms are protected from cross-site posts by the Origin and
	// Sec-Fetch-Site checks (another port of localhost is the same site,
	// so SameSite=Lax alone would not do).
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(s.handleCrossOrigin))

	var h http.Handler = mux
	h = csrf.Handler(h)
	h = httpserve.CanonicalHost(s.base, h)
	h = s.secure(h)
	h = s.observe(h)
	return h
}
