// Package accounts administers the people behind the user service: the
// accounts of a Cognito user pool, over Cognito's own API with
// aws-sdk-go-v2, so the same code runs against Amazon Cognito and against
// the local identity provider's twin of that API.
//
// A Service searches accounts (email prefix, exact sub, exact username),
// reads one with its groups, invites a person, and changes an account:
// disable, enable, add to or remove from a group, reset the password, sign
// out everywhere. Failures come back as *Error values classified by the
// sentinels ErrNotFound, ErrExists, ErrInvalid, ErrRefused and
// ErrUnavailable, so that callers branch with errors.Is and show Cognito's
// request id.
//
// The Service calls Cognito with the credentials of its Client, never with
// a signed-in user's token: deciding who may call it is the caller's job.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// Client is the part of Cognito's API the Service uses; the SDK's
// *cognitoidentityprovider.Client provides it.
type Client interface {
	ListUsers(ctx context.Context, in *cip.ListUsersInput, optFns ...func(*cip.Options)) (*cip.ListUsersOutput, error)
	AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, optFns ...func(*cip.Options)) (*cip.AdminGetUserOutput, error)
	AdminListGroupsForUser(ctx context.Context, in *cip.AdminListGroupsForUserInput, optFns ...func(*cip.Options)) (*cip.AdminListGroupsForUserOutput, error)
	AdminCreateUser(ctx context.Context, in *cip.AdminCreateUserInput, optFns ...func(*cip.Options)) (*cip.AdminCreateUserOutput, error)
	AdminAddUserToGroup(ctx context.Context, in *cip.AdminAddUserToGroupInput, optFns ...func(*cip.Options)) (*cip.AdminAddUserToGroupOutput, error)
	AdminRemoveUserFromGroup(ctx context.Context, in *cip.AdminRemoveUserFromGroupInput, optFns ...func(*cip.Options)) (*cip.AdminRemoveUserFromGroupOutput, error)
	AdminDisableUser(ctx context.Context, in *cip.AdminDisableUserInput, optFns ...func(*cip.Options)) (*cip.AdminDisableUserOutput, error)
	AdminEnableUser(ctx context.Context, in *cip.AdminEnableUserInput, optFns ...func(*cip.Options)) (*cip.AdminEnableUserOutput, error)
	AdminResetUserPassword(ctx context.Context, in *cip.AdminResetUserPasswordInput, optFns ...func(*cip.Options)) (*cip.AdminResetUserPasswordOutput, error)
	AdminUserGlobalSignOut(ctx context.Context, in *cip.AdminUserGlobalSignOutInput, optFns ...func(*cip.Options)) (*cip.AdminUserGlobalSignOutOutput, error)
}

var _ Client = (*cip.Client)(nil)

// AdminGroup is the group whose members administer accounts; it is the
// group the user service's admin routes require (api.AdminGroup).
const AdminGroup = "admins"

// MaxPageSize is the most accounts Cognito returns in one ListUsers page.
const MaxPageSize = 60

// Service administers the accounts of one user pool. It is safe for
// concurrent use.
type Service struct {
	client Client
	pool   string
}

// New returns a Service for the pool userPoolID, calling Cognito through
// client.
func New(client Client, userPoolID string) *Service {
	return &Service{client: client, pool: userPoolID}
}

// Account is a Cognito user as the screens and the command show it.
type Account struct {
	// Username is the account's name in the pool: what the Admin
	// operations take. In a pool whose usernames are emails it is a
	// generated id, not the email.
	Username string
	Sub      string
	Email    string
	// EmailVerified is the email_verified attribute.
	EmailVerified bool
	// Status is Cognito's user status: CONFIRMED, UNCONFIRMED,
	// FORCE_CHANGE_PASSWORD, RESET_REQUIRED, ...
	Status   string
	Enabled  bool
	Created  time.Time
	Modified time.Time
	// Attributes are every attribute Cognito returned, sorted by name.
	Attributes []Attribute
	// Groups are the account's groups, sorted; filled by Get only.
	Groups []string
}

// Attribute is one user attribute.
type Attribute struct {
	Name, Value string
}

// InGroup reports whether the account is in group; meaningful on an
// Account from Get.
func (a Account) InGroup(group string) bool { return slices.Contains(a.Groups, group) }

func account(username *string, attrs []types.AttributeType, status types.UserStatusType, enabled bool, created, modified *time.Time) Account {
	a := Account{
		Username: aws.ToString(username),
		Status:   string(status),
		Enabled:  enabled,
		Created:  aws.ToTime(created),
		Modified: aws.ToTime(modified),
	}
	for _, at := range attrs {
		name, value := aws.ToString(at.Name), aws.ToString(at.Value)
		switch name {
		case "sub":
			a.Sub = value
		case "email":
			a.Email = value
		case "email_verified":
			a.EmailVerified = value == "true"
		}
		a.Attributes = append(a.Attributes, Attribute{name, value})
	}
	slices.SortFunc(a.Attributes, func(x, y Attribute) int { return strings.Compare(x.Name, y.Name) })
	return a
}

// By says what a Query's text is matched against.
type By int

const (
	// ByEmailPrefix finds accounts whose email starts with the text.
	ByEmailPrefix By = iota
	// BySub finds the account with exactly this sub.
	BySub
	// ByUsername finds the account with exactly this username.
	ByUsername
	// ByEmail finds accounts whose email is exactly the text.
	ByEmail
)

// Query is a search of the pool. An empty Text lists every account.
type Query struct {
	By   By
	Text string
}

// MaxQueryText is the longest search text accepted: Cognito's Filter
// holds at most 256 characters, attribute name and quotes included.
const MaxQueryText = 200

// filter is the Cognito ListUsers filter of q.
func (q Query) filter() (string, error) {
	if q.Text == "" {
		return "", nil
	}
	if len(q.Text) > MaxQueryText {
		return "", &Error{Op: "ListUsers", Kind: ErrInvalid, Message: fmt.Sprintf("The search text is longer than %d characters.", MaxQueryText)}
	}
	var f string
	switch q.By {
	case ByEmailPrefix:
		f = Filter("email", "^=", q.Text)
	case ByEmail:
		f = Filter("email", "=", q.Text)
	case BySub:
		f = Filter("sub", "=", q.Text)
	case ByUsername:
		f = Filter("username", "=", q.Text)
	default:
		return "", fmt.Errorf("search by %d: unknown kind", q.By)
	}
	if len(f) > MaxFilter {
		// Escapes made it longer than Cognito takes.
		return "", &Error{Op: "ListUsers", Kind: ErrInvalid, Message: "The search text holds too many special characters."}
	}
	return f, nil
}

// MaxFilter is the longest ListUsers filter Cognito accepts.
const MaxFilter = 256

// Page is one page of a search.
type Page struct {
	Accounts []Account
	// Next is the token of the next page, "" on the last.
	Next string
}

// Search returns the page of accounts matching q that starts at token (""
// for the first page), at most limit of them (1 to MaxPageSize; anything
// else means MaxPageSize).
func (s *Service) Search(ctx context.Context, q Query, limit int, token string) (Page, error) {
	filter, err := q.filter()
	if err != nil {
		return Page{}, err
	}
	if limit < 1 || limit > MaxPageSize {
		limit = MaxPageSize
	}
	in := &cip.ListUsersInput{UserPoolId: &s.pool, Limit: aws.Int32(int32(limit))}
	if filter != "" {
		in.Filter = &filter
	}
	if token != "" {
		in.PaginationToken = &token
	}
	out, err := s.client.ListUsers(ctx, in)
	if err != nil {
		return Page{}, classify("ListUsers", err)
	}
	p := Page{Accounts: make([]Account, 0, len(out.Users)), Next: aws.ToString(out.PaginationToken)}
	for _, u := range out.Users {
		p.Accounts = append(p.Accounts, account(u.Username, u.Attributes, u.UserStatus, u.Enabled, u.UserCreateDate, u.UserLastModifiedDate))
	}
	return p, nil
}

// Get returns the account named username, with its groups.
func (s *Service) Get(ctx context.Context, username string) (Account, error) {
	if err := checkUsername("AdminGetUser", username); err != nil {
		return Account{}, err
	}
	out, err := s.client.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &s.pool, Username: &username})
	if err != nil {
		return Account{}, classify("AdminGetUser", err)
	}
	a := account(out.Username, out.UserAttributes, out.UserStatus, out.Enabled, out.UserCreateDate, out.UserLastModifiedDate)
	if a.Username == "" {
		a.Username = username
	}
	a.Groups, err = s.groups(ctx, a.Username)
	if err != nil {
		return Account{}, err
	}
	return a, nil
}

// maxGroupPages bounds the group listing: a pool has at most 10,000 groups,
// and a reply that keeps naming a next page must not hold a request forever.
const maxGroupPages = 200

func (s *Service) groups(ctx context.Context, username string) ([]string, error) {
	var groups []string
	var token *string
	for range maxGroupPages {
		out, err := s.client.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: &s.pool, Username: &username, Limit: aws.Int32(MaxPageSize), NextToken: token})
		if err != nil {
			return nil, classify("AdminListGroupsForUser", err)
		}
		for _, g := range out.Groups {
			groups = append(groups, aws.ToString(g.GroupName))
		}
		token = out.NextToken
		if aws.ToString(token) == "" {
			break
		}
	}
	slices.Sort(groups)
	return slices.Compact(groups), nil
}

// Find returns the account with the email address email (exactly; Cognito
// keeps an email on one account at most in pools where it signs in).
func (s *Service) Find(ctx context.Context, email string) (Account, error) {
	return s.one(ctx, Query{By: ByEmail, Text: email}, "no account has the email "+email)
}

// Lookup returns the account whose username or, failing that, sub is id.
func (s *Service) Lookup(ctx context.Context, id string) (Account, error) {
	a, err := s.Get(ctx, id)
	if err == nil || !isNotFound(err) {
		return a, err
	}
	a, err = s.one(ctx, Query{By: BySub, Text: id}, "no account has the username or sub "+id)
	if err != nil {
		return Account{}, err
	}
	return s.Get(ctx, a.Username)
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

func (s *Service) one(ctx context.Context, q Query, missing string) (Account, error) {
	if q.Text == "" {
		return Account{}, &Error{Op: "ListUsers", Kind: ErrInvalid, Message: "Give an email, username or sub."}
	}
	p, err := s.Search(ctx, q, 2, "")
	if err != nil {
		return Account{}, err
	}
	switch len(p.Accounts) {
	case 0:
		return Account{}, &Error{Op: "ListUsers", Kind: ErrNotFound, Message: missing}
	case 1:
		return p.Accounts[0], nil
	}
	return Account{}, &Error{Op: "ListUsers", Kind: ErrInvalid, Message: "more than one account matches " + q.Text}
}

// Invite creates an account for email and has Cognito mail it a temporary
// password; the person sets their own at first sign-in. With admin, the
// account joins AdminGroup. The email counts as verified: the invitation
// went to it.
func (s *Service) Invite(ctx context.Context, email string, admin bool) (Account, error) {
	email = strings.TrimSpace(email)
	if err := checkEmail(email); err != nil {
		return Account{}, err
	}
	out, err := s.client.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId: &s.pool,
		Username:   &email,
		UserAttributes: []types.AttributeType{
			{Name: aws.String("email"), Value: &email},
			{Name: aws.String("email_verified"), Value: aws.String("true")},
		},
		DesiredDeliveryMediums: []types.DeliveryMediumType{types.DeliveryMediumTypeEmail},
	})
	if err != nil {
		return Account{}, classify("AdminCreateUser", err)
	}
	var a Account
	if u := out.User; u != nil {
		a = account(u.Username, u.Attributes, u.UserStatus, u.Enabled, u.UserCreateDate, u.UserLastModifiedDate)
	}
	if a.Username == "" {
		a.Username = email
	}
	if a.Email == "" {
		a.Email = email
	}
	if admin {
		if err := s.AddToGroup(ctx, a.Username, AdminGroup); err != nil {
			return a, fmt.Errorf("invited %s, but: %w", email, err)
		}
		a.Groups = []string{AdminGroup}
	}
	return a, nil
}

// checkEmail refuses what cannot be an email before Cognito is asked, so
// that the message is ours and plain.
func checkEmail(email string) error {
	at := strings.LastIndexByte(email, '@')
	switch {
	case email == "":
		return &Error{Op: "AdminCreateUser", Kind: ErrInvalid, Message: "Give an email address."}
	case len(email) > 254:
		return &Error{Op: "AdminCreateUser", Kind: ErrInvalid, Message: "That email address is longer than 254 characters."}
	case at < 1 || at == len(email)-1 || strings.ContainsFunc(email, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return &Error{Op: "AdminCreateUser", Kind: ErrInvalid, Message: "That is not an email address."}
	}
	return nil
}

// checkUsername refuses a username Cognito would refuse, without asking.
func checkUsername(op, username string) error {
	if username == "" || len(username) > 128 {
		return &Error{Op: op, Kind: ErrNotFound, Message: "no such account"}
	}
	return nil
}

// Disable stops the account from signing in; its sessions end as their
// tokens do.
func (s *Service) Disable(ctx context.Context, username string) error {
	if err := checkUsername("AdminDisableUser", username); err != nil {
		return err
	}
	_, err := s.client.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: &s.pool, Username: &username})
	return classify("AdminDisableUser", err)
}

// Enable lets a disabled account sign in again.
func (s *Service) Enable(ctx context.Context, username string) error {
	if err := checkUsername("AdminEnableUser", username); err != nil {
		return err
	}
	_, err := s.client.AdminEnableUser(ctx, &cip.AdminEnableUserInput{UserPoolId: &s.pool, Username: &username})
	return classify("AdminEnableUser", err)
}

// AddToGroup makes the account a member of group.
func (s *Service) AddToGroup(ctx context.Context, username, group string) error {
	if err := checkUsername("AdminAddUserToGroup", username); err != nil {
		return err
	}
	_, err := s.client.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &s.pool, Username: &username, GroupName: &group})
	return classify("AdminAddUserToGroup", err)
}

// RemoveFromGroup ends the account's membership of group.
func (s *Service) RemoveFromGroup(ctx context.Context, username, group string) error {
	if err := checkUsername("AdminRemoveUserFromGroup", username); err != nil {
		return err
	}
	_, err := s.client.AdminRemoveUserFromGroup(ctx, &cip.AdminRemoveUserFromGroupInput{UserPoolId: &s.pool, Username: &username, GroupName: &group})
	return classify("AdminRemoveUserFromGroup", err)
}

// ResetPassword has Cognito mail the account a code; its password stops
// working and must be set anew with the code at the next sign-in.
func (s *Service) ResetPassword(ctx context.Context, username string) error {
	if err := checkUsername("AdminResetUserPassword", username); err != nil {
		return err
	}
	_, err := s.client.AdminResetUserPassword(ctx, &cip.AdminResetUserPasswordInput{UserPoolId: &s.pool, Username: &username})
	return classify("AdminResetUserPassword", err)
}

// SignOutEverywhere revokes the account's refresh tokens, so no app can
// renew its sign-in.
func (s *Service) SignOutEverywhere(ctx context.Context, username string) error {
	if err := checkUsername("AdminUserGlobalSignOut", username); err != nil {
		return err
	}
	_, err := s.client.AdminUserGlobalSignOut(ctx, &cip.AdminUserGlobalSignOutInput{UserPoolId: &s.pool, Username: &username})
	return classify("AdminUserGlobalSignOut", err)
}

// IsAdmin reports whether Cognito, now, has the account username enabled
// and in AdminGroup: the check a token's groups claim cannot make, since
// the claim is as old as the token.
func (s *Service) IsAdmin(ctx context.Context, username string) (bool, error) {
	a, err := s.Get(ctx, username)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return a.Enabled && a.InGroup(AdminGroup), nil
}

// PoolFromIssuer returns the user pool id and its region from a Cognito
// issuer URL (https://cognito-idp.<region>.amazonaws.com/<pool id>, or
// the local provider's <URL>/<pool id>): the pool id is the last path
// segment, and a pool id is <region>_<id>.
func PoolFromIssuer(issuer string) (poolID, region string, err error) {
	u, err := url.Parse(issuer)
	if err != nil {
		return "", "", fmt.Errorf("pool from issuer %q: %w", issuer, err)
	}
	poolID = path.Base(strings.TrimSuffix(u.Path, "/"))
	region, _, ok := strings.Cut(poolID, "_")
	if !ok || region == "" || poolID == "." || poolID == "/" {
		return "", "", fmt.Errorf("pool from issuer %q: its last path segment is no user pool id", issuer)
	}
	return poolID, region, nil
}

// NewDefault returns a Service for the pool userPoolID with a client built
// from the AWS SDK's standard configuration (environment, shared files,
// the Lambda role), so AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER points it
// at the local provider. When the configuration names no region, the
// pool's own (the part of its id before "_") is used. optFns adjust the
// client, for instance to give it the local provider's endpoint and key
// pair in-process.
func NewDefault(ctx context.Context, userPoolID string, optFns ...func(*cip.Options)) (*Service, error) {
	region, _, ok := strings.Cut(userPoolID, "_")
	if !ok || region == "" {
		return nil, fmt.Errorf("accounts: %q is no user pool id (<region>_<id>)", userPoolID)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("accounts: load aws config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = region
	}
	// Last, so that it wraps whatever HTTP client optFns chose.
	optFns = append(optFns[:len(optFns):len(optFns)], BufferRequestBodies)
	return New(cip.NewFromConfig(cfg, optFns...), userPoolID), nil
}
