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
//	GET      /confirmUser        the emailed verification link (POST: with the sign-up password)
//	POST     /changePassword     a temporary password's replacement (after /login)
//	GET      /outbox             mail the provider sent (Config.Outbox; loopback clients only
//	                             unless Config.OutboxRemote), a page (outbox.PageSize) at a time
//
// The token, revocation and userInfo endpoints allow any origin (CORS):
// they read no cookies.
//
// # Cognito's JSON API
//
//	POST /   AWS JSON 1.1, X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>
//
// on the same origin, as cognito-idp.<region>.amazonaws.com serves it, so
// AWS SDKs, the AWS CLI and amazon-cognito-identity-js work against it with
// only the endpoint changed (AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER,
// --endpoint-url, or the library's endpoint option). One account store
// serves the API and the Hosted UI, and the API's tokens are the Hosted
// UI's (same keys, claims, lifetimes and revocation); access tokens from
// the API's sign-in flows have the scope aws.cognito.signin.user.admin,
// which GetUser, UpdateUserAttributes, VerifyUserAttribute,
// GetUserAttributeVerificationCode, ChangePassword, GlobalSignOut and
// DeleteUser require.
//
// For users of an app client (no AWS credentials; SECRET_HASH required
// when the client has a secret): SignUp, ConfirmSignUp,
// ResendConfirmationCode, InitiateAuth (USER_PASSWORD_AUTH, USER_SRP_AUTH,
// REFRESH_TOKEN_AUTH), RespondToAuthChallenge (PASSWORD_VERIFIER,
// NEW_PASSWORD_REQUIRED), ForgotPassword, ConfirmForgotPassword, GetUser,
// UpdateUserAttributes, VerifyUserAttribute,
// GetUserAttributeVerificationCode, ChangePassword, GlobalSignOut,
// RevokeToken, DeleteUser. A client's ExplicitAuthFlows (Cognito's default
// when absent: SRP and refresh) and PreventUserExistenceErrors (ENABLED
// unless "LEGACY") come from its -clients entry; DevClient allows SRP and
// refresh.
//
// With PreventUserExistenceErrors on, an unknown username gets the answer
// an account gets: a wrong password's NotAuthorizedException, an SRP
// challenge, ForgotPassword's and ResendConfirmationCode's
// CodeDeliveryDetails (masked from the name as typed, normalised, whether
// or not it has an account; from the stored address only when the caller
// named the account by its sub), and CodeMismatchException for any code
// ConfirmSignUp or ConfirmForgotPassword refuses, whether it is wrong,
// expired, used or was never issued (a LEGACY client is told
// ExpiredCodeException for the last three, and UserNotFoundException for
// unknown users). What still differs by an account's state differs in
// Cognito too, and tells whoever asks that the account exists:
// ConfirmSignUp of a confirmed account is NotAuthorizedException ("User
// cannot be confirmed. Current status is CONFIRMED"),
// ResendConfirmationCode of one InvalidParameterException ("User is already
// confirmed."), ForgotPassword of a disabled account NotAuthorizedException
// ("User is disabled."), SignUp of a taken address UsernameExistsException,
// and UpdateUserAttributes to another account's email AliasExistsException
// (to a signed-in user).
//
// A user's new email (UpdateUserAttributes, or the NEW_PASSWORD_REQUIRED
// answer) takes effect only when verified, as in the pool on AWS
// (attributes_require_verification_before_update = ["email"]): a six-digit
// code goes to the new address (CodeDeliveryDetailsList), the account keeps
// its address and sign-in alias until VerifyUserAttribute gets the code
// (GetUserAttributeVerificationCode mails a new one; with no change
// pending, it verifies the current address), and the new address blocks
// nobody's sign-up meanwhile; if someone has taken it by then, the
// verification is AliasExistsException. AdminUpdateUserAttributes sets an
// email at once (with email_verified as given) and drops a pending change.
//
// For administrators, signed with AWS Signature Version 4 (service
// cognito-idp, the pool's region) by the provider's key pair
// (Server.Credentials: Config.AccessKeyID, default "local", and
// Config.SecretAccessKey, else a secret generated at the first start and
// kept in <DataDir>/idp/secret-access-key, mode 0600): AdminCreateUser,
// AdminGetUser, AdminDeleteUser, AdminDisableUser, AdminEnableUser,
// AdminConfirmSignUp, AdminSetUserPassword, AdminResetUserPassword,
// AdminUpdateUserAttributes, AdminInitiateAuth, AdminRespondToAuthChallenge,
// AdminUserGlobalSignOut, AdminAddUserToGroup, AdminRemoveUserFromGroup,
// AdminListGroupsForUser, ListUsers (Filter with = and ^= on username,
// email, phone_number, name, given_name, family_name, preferred_username,
// cognito:user_status, status and sub; AttributesToGet, Limit up to 60,
// PaginationToken), ListUsersInGroup, ListGroups, GetGroup,
// DescribeUserPool, DescribeUserPoolClient, ListUserPoolClients. An
// unsigned call gets MissingAuthenticationTokenException, an unknown key id
// UnrecognizedClientException, a bad signature or an X-Amz-Date more than
// five minutes off InvalidSignatureException; none changes anything.
//
// Errors are HTTP 400 with {"__type": "<Name>Exception", "message": ...}
// and x-amzn-ErrorType, under Cognito's exception names, so SDKs raise
// their typed errors; every answer has x-amzn-RequestId. An unknown or
// missing X-Amz-Target is UnknownOperationException; malformed JSON, a
// member the operation does not have or a value of the wrong type is
// SerializationException; a missing member is InvalidParameterException; a
// body over MaxAPIBody is InvalidParameterException with status 413.
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
// to confirm an account; Message.Code() gives a reset or email code. Package
// signin signs a user in through the Hosted UI without a browser and
// returns the tokens (what `portal token` prints).
//
// # State
//
// <DataDir>/idp/keys.json holds the RS256 keys (mode 0600): one for ID
// tokens, one for access tokens. RotateKeys replaces them and keeps the old
// ones published until every token they signed has expired.
// <DataDir>/idp/users.db (bbolt) holds accounts (argon2id hashes and SRP
// verifiers, never a password), groups and one-time codes; <DataDir>/idp/tokens.db the refresh tokens and revocations
// (digests only, written without fsync: see users.Open). Provider sessions and
// authorization codes live in memory: a restart signs browsers out of the
// provider, not out of the applications <DataDir>/idp/secret-access-key
// and srp.key (0600) are the admin API's secret (when not configured) and
// the key behind SRP's answers for unknown users.
//
// # Limits
//
// What one anonymous client can cost is bounded. A client is its address
// (an IPv6 client its /64), counted, for IPv6, at its /56 and its /48 as
// well, and a limit at any level applies: a /56 (a home's usual share) may
// use four clients' worth of each per-client limit, a /48 (a site's)
// sixteen. Whoever holds a /48 holds 65,536 /64s, enough alone to fill the
// per-client tables (10,000 entries each), after which every new client
// would share one overflow; counted as a site, a /48 holds a few hundred
// entries of a rate limiter's, and at most about a thousand of the
// lockout's in an hour. What remains: a dozen or a few dozen /48s (or
// 10,000 IPv4 addresses) together can still fill a table, and new clients
// then share its overflow until the entries refill or are an hour old; and
// the people of one site (behind one /48, as behind one IPv4 NAT) share its
// sixteen clients' worth.
//
// Password hashes (argon2id, 19 MiB each) run a few at a time in the whole
// process (users.SetHashLimit); one that finds no slot within a short wait
// is answered 503 with Retry-After (users.ErrBusy), and the attempt does
// not count toward the lockout. The forms that hash (sign-in, sign-up,
// reset) are limited per client (HashBurst, then HashRate; 429 with
// Retry-After).
//
// Lockout counts failures per sign-in name and per client
// (LockoutThreshold, ClientLockoutThreshold), in tables that cannot be
// flushed: a name or a client with a failure in the last hour, or a lock,
// is never forgotten to make room. When a table is full of those, new names
// (or clients) are counted together, as one, until the flood's failures
// are an hour old: the flood then gets LockoutThreshold tries per lock
// between all its new names, and anyone whose name is not already tracked
// shares that lock meanwhile. That is the trade-off: 10,000 names with a
// failure each in an hour (from about 200 IPv4 addresses, at
// ClientLockoutThreshold each) deny sign-in to everyone not already
// tracked until the flood stops, rather than flush a victim's count and let
// a password be guessed without end.
//
// The forms that mail (sign-up, forgot password) are limited per recipient
// and per client (MailPerAddress, MailPerClient; "Attempt limit exceeded",
// ErrMailLimit, Cognito's LimitExceededException), counted whether or not
// an account exists; the owner of a confirmed address hears of a sign-up
// attempt once a day at most; a signed AdminResetUserPassword is not
// counted. Every body is a form's: served under
// httpserve.Form, a client has a few seconds to send it.
//
// # Differences from Cognito worth knowing
//
// PKCE is required of every client (Cognito makes it optional); /logout
// with redirect_uri does not ask for it, the sign-in page it leads to does.
// Sign-up never says that an address is taken: the owner of a confirmed
// account gets a mail instead. A second sign-up of an address that was
// never confirmed changes nothing (the API answers UsernameExistsException,
// as Cognito does; the Hosted UI its usual page) and mails no link: the
// address gets a notice instead. So the link mailed for the first sign-up
// only ever confirms the password chosen at that sign-up, and no later
// registrant can have the owner's click confirm theirs. The link confirms
// with one click (as Cognito's does) only in the browser that signed up;
// opened anywhere else it first asks for the password chosen at sign-up
// (POST /confirmUser), so clicking a link never leaves an account with a
// password the person clicking did not choose or know, even when someone
// else registered the address first. ConfirmSignUp takes the link's code
// without a password, as Cognito's does. An owner who did
// not register the pending account (or forgot its password) claims the
// address with "Forgot your password?" (ForgotPassword), which Cognito
// refuses for unconfirmed accounts and this provider allows: the mailed
// code proves the mailbox, sets the password its owner types, confirms the
// account and kills every earlier link. A password reset or change (by
// code, ChangePassword, NEW_PASSWORD_REQUIRED or an administrator) ends the
// account's refresh-token families, the access tokens minted in them and
// its Hosted UI sessions; Cognito's ChangePassword leaves other sessions
// alone. Disabling an account does the same, as Cognito's does. If the
// tokens cannot be revoked, the operation answers an internal error (after
// the password change, for those that change one): retry it. The sign-in
// page mails nothing: an unconfirmed account's right password gets "User
// is not confirmed". The forgot-password, sign-up and reset forms answer
// no sooner than a fixed minimum time (MinForgotTime, ...), so timing does
// not tell whether an account exists; so do the API's ForgotPassword,
// ResendConfirmationCode and ConfirmForgotPassword. At most MaxCodesPerSession
// authorization codes per provider session and MaxCodes in all are held;
// past the total the client gets error=temporarily_unavailable. HTTP Basic
// client credentials are accepted form-encoded (RFC 6749) or raw (curl -u).
// Lockout counts failures per sign-in name whether or not an account has
// it, on the Hosted UI and the API alike (wrong passwords, SRP claims,
// confirmation and reset codes); on the API, a name that finds an account
// (its email in any case, or its sub) counts under the account's email,
// so that every name of one account shares one count. Only the code flow exists (no implicit
// grant, no client credentials).
//
// The JSON API has one pool (UserPoolId must be the provider's), signs in
// by email (the username is the sub, as in a Cognito pool whose username
// attribute is email; either names the account), verifies email only
// (no SMS, no MFA, no devices, no custom auth or Lambda triggers; an
// email code is six digits, good for 24 hours and five guesses). Refusing a
// member an operation does not have is stricter than Cognito. ListUsers
// pages in email order for email filters and sub order otherwise; the
// token is opaque and bound to the filter's index. Groups other than
// "admins" exist only if created in the store (there is no CreateGroup
// operation). SRP secret blocks are sealed per process: a restart between
// InitiateAuth and RespondToAuthChallenge fails that sign-in. Accounts
// whose password was set before SRP existed sign in by SRP only after the
// password next changes. The Hosted UI's sign-in page shows "Change
// password" to an account with a temporary password (Cognito's
// FORCE_CHANGE_PASSWORD) and refuses disabled accounts and those whose
// password an administrator reset. Temporary passwords do not expire.
// The Hosted UI's limits apply to the API's public operations in Cognito's
// words: a client hashing too often or a full hashing queue gets
// TooManyRequestsException, too much mail for an address or from a client
// LimitExceededException.
package idp
