// Package idp is a local identity provider that behaves like an Amazon
// Cognito user pool with its Hosted UI: the offline twin of the pool the
// service uses in AWS. Relying parties written for Cognito (OIDC
// authorization code flow with PKCE) work against it unchanged, and its
// tokens carry Cognito's claims, so an API Gateway JWT authorizer (or its
// local emulator) accepts them the same way.
//
// # Endpoints
//
// Under the issuer, <URL>/<pool id>:
//
//	GET  /<pool id>/.well-known/openid-configuration
//	GET  /<pool id>/.well-known/jwks.json
//
// On the provider's origin, as Cognito's user pool domain has them:
//
//	GET      /oauth2/authorize   code flow only; PKCE S256 required; redirect_uri exact
//	POST     /oauth2/token       authorization_code, refresh_token; Basic or form client_secret
//	GET|POST /oauth2/userInfo    Bearer access token with the openid scope
//	POST     /oauth2/revoke      refresh token (and every access token minted with it)
//	GET      /logout             client_id + logout_uri (or redirect_uri + response_type)
//	GET|POST /login, /signup, /forgotPassword, /confirmForgotPassword
//	GET      /confirmUser        the emailed verification link
//	GET      /outbox             mail the provider sent (Config.Outbox; loopback clients only
//	                             unless Config.OutboxRemote), a page (outbox.PageSize) at a time
//
// The token, revocation and userInfo endpoints allow any origin (CORS):
// they read no cookies.
//
// # Use in-process
//
//	srv, err := idp.New(idp.Config{
//		URL:     "http://localhost:9229",
//		DataDir: ".local",
//		Clients: []idp.Client{idp.DevClient("http://localhost:8080", "")},
//		AdminEmail: "admin@example.com",
//		Outbox:  true,
//		Logger:  log,
//	})
//	if err != nil { ... }
//	defer srv.Close()
//	http.ListenAndServe("127.0.0.1:9229", srv.Handler())
//
// srv.Issuer() is the issuer a relying party or JWT authorizer is configured
// with. When the admin account was created with a generated password,
// srv.GeneratedAdminPassword() returns it (once per data directory).
// LoadClientsFile reads app clients from Cognito's JSON shape
// ({"UserPoolClients":[...]}).
//
// Mail (verification links, reset codes) is written as .eml files to
// <DataDir>/outbox. Tests and tools read it with srv.Outbox(): List,
// Latest(to), and VerificationLink(to, "/confirmUser") for the link to open
// to confirm an account; Message.Code() gives a reset code. Package
// signin signs a user in through the Hosted UI without a browser and
// returns the tokens (what `portal token` prints).
//
// # State
//
// <DataDir>/idp/keys.json holds the RS256 keys (mode 0600): one for ID
// tokens, one for access tokens. RotateKeys replaces them and keeps the old
// ones published until every token they signed has expired.
// <DataDir>/idp/users.db (bbolt) holds accounts (argon2id hashes) and
// one-time codes; <DataDir>/idp/tokens.db the refresh tokens and revocations
// (digests only, written without fsync: see users.Open). Provider sessions and
// authorization codes live in memory: a restart signs browsers out of the
// provider, not out of the applications.
//
// # Limits
//
// What one anonymous client can cost is bounded. A client is its address
// (an IPv6 client its /64). Password hashes (argon2id, 19 MiB each) run a
// few at a time in the whole process (users.SetHashLimit); one that finds
// no slot within a short wait is answered 503 with Retry-After
// (users.ErrBusy), and the attempt does not count toward the lockout. The
// forms that hash (sign-in, sign-up, reset) are limited per client
// (HashBurst, then HashRate; 429 with Retry-After). Lockout counts failures
// per sign-in name and per client (LockoutThreshold,
// ClientLockoutThreshold), in tables that cannot be flushed: under
// pressure they forget quiet names first, then those with the fewest
// failures, never a locked one. The forms that mail (sign-up, forgot
// password) are limited per recipient and per client (MailPerAddress,
// MailPerClient; "Attempt limit exceeded", ErrMailLimit, Cognito's
// LimitExceededException), counted whether or not an account exists; the
// owner of a confirmed address hears of a sign-up attempt once a day at
// most. Every body is a form's: served under httpserve.Form, a client has
// a few seconds to send it.
//
// # Differences from Cognito worth knowing
//
// PKCE is required of every client (Cognito makes it optional); /logout
// with redirect_uri does not ask for it, the sign-in page it leads to does.
// Sign-up never says that an address is taken: the owner of a confirmed
// account gets a mail instead. Signing up again with an address that was
// never confirmed gives the pending account the new password and mails a
// new link; earlier links (and codes) are bound to the password they were
// sent for and stop working, so whoever registered someone else's address
// first cannot have their password confirmed by the owner. The sign-in
// page mails nothing: an unconfirmed account's right password gets "User
// is not confirmed". The forgot-password, sign-up and reset forms answer
// no sooner than a fixed minimum time (MinForgotTime, ...), so timing does
// not tell whether an account exists. At most MaxCodesPerSession
// authorization codes per provider session and MaxCodes in all are held;
// past the total the client gets error=temporarily_unavailable. HTTP Basic
// client credentials are accepted form-encoded (RFC 6749) or raw (curl -u).
// Lockout counts failures per sign-in name whether or not an account has
// it. Only the code flow exists (no implicit grant, no client
// credentials).
package idp
