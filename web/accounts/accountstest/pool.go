// Package accountstest provides an in-memory stand-in for the part of
// Cognito's API that package accounts uses, for tests of its callers that
// need to make Cognito fail on cue (throttling, an account deleted between
// two calls). Tests that need no faults should prefer the local identity
// provider's real API.
package accountstest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// User is an account of the Pool.
type User struct {
	Username string
	Sub      string
	Email    string
	Status   types.UserStatusType
	Enabled  bool
	Groups   []string
	Created  time.Time
	// Unverified marks an email address nobody has verified.
	Unverified bool
	// SignedOut counts AdminUserGlobalSignOut calls.
	SignedOut int
}

// Pool is an in-memory user pool answering the calls of accounts.Client.
// It is safe for concurrent use.
type Pool struct {
	// ID is the only pool id it answers to; others get
	// ResourceNotFoundException.
	ID string

	mu    sync.Mutex
	users []*User
	// Fail, when set, is asked before each call; an error it returns is
	// the call's answer and nothing changes.
	Fail func(op, username string) error
	// Calls counts the calls by operation.
	Calls map[string]int
	// Mail records the invitations and reset codes sent, one entry per
	// mail: "invite <email>" or "reset <username>".
	Mail []string
	seq  int
}

// NewPool returns an empty pool with the id id and an admins group.
func NewPool(id string) *Pool { return &Pool{ID: id, Calls: map[string]int{}} }

// Add puts u in the pool; a zero Username or Sub gets a generated one,
// and a zero Status CONFIRMED. It returns the stored copy's username.
func (p *Pool) Add(u User) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.add(u)
}

func (p *Pool) add(u User) string {
	p.seq++
	if u.Sub == "" {
		u.Sub = fmt.Sprintf("00000000-0000-4000-8000-%012d", p.seq)
	}
	if u.Username == "" {
		u.Username = u.Sub
	}
	if u.Status == "" {
		u.Status = types.UserStatusTypeConfirmed
	}
	if u.Created.IsZero() {
		u.Created = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(p.seq) * time.Minute)
	}
	p.users = append(p.users, &u)
	return u.Username
}

// User returns a copy of the account username, and whether it exists.
func (p *Pool) User(username string) (User, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if u := p.find(username); u != nil {
		c := *u
		c.Groups = slices.Clone(u.Groups)
		return c, true
	}
	return User{}, false
}

// Delete removes the account username, as another admin might between
// two requests.
func (p *Pool) Delete(username string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.users = slices.DeleteFunc(p.users, func(u *User) bool { return u.Username == username })
}

func (p *Pool) find(username string) *User {
	for _, u := range p.users {
		if u.Username == username {
			return u
		}
	}
	// Cognito accepts the email for the username in pools whose
	// usernames are emails.
	for _, u := range p.users {
		if strings.EqualFold(u.Email, username) {
			return u
		}
	}
	return nil
}

// APIError is an error as the SDK returns one from Cognito.
func APIError(code, msg string) error {
	return &smithy.GenericAPIError{Code: code, Message: msg, Fault: smithy.FaultClient}
}

func (p *Pool) begin(op, pool, username string) (*User, error) {
	p.Calls[op]++
	if p.Fail != nil {
		if err := p.Fail(op, username); err != nil {
			return nil, err
		}
	}
	if pool != p.ID {
		return nil, APIError("ResourceNotFoundException", "User pool "+pool+" does not exist.")
	}
	if username == "" && op != "ListUsers" && op != "AdminCreateUser" {
		return nil, APIError("InvalidParameterException", "1 validation error detected: Value at 'username' failed to satisfy constraint")
	}
	if op == "ListUsers" || op == "AdminCreateUser" {
		return nil, nil
	}
	u := p.find(username)
	if u == nil {
		return nil, APIError("UserNotFoundException", "User does not exist.")
	}
	return u, nil
}

func attrs(u *User) []types.AttributeType {
	return []types.AttributeType{
		{Name: aws.String("sub"), Value: aws.String(u.Sub)},
		{Name: aws.String("email"), Value: aws.String(u.Email)},
		{Name: aws.String("email_verified"), Value: aws.String(strconv.FormatBool(!u.Unverified))},
	}
}

func userType(u *User) types.UserType {
	return types.UserType{
		Username:             aws.String(u.Username),
		Attributes:           attrs(u),
		Enabled:              u.Enabled,
		UserStatus:           u.Status,
		UserCreateDate:       aws.Time(u.Created),
		UserLastModifiedDate: aws.Time(u.Created),
	}
}

// ListUsers implements the filter forms `attr = "v"` and `attr ^= "v"` on
// email, sub and username, with backslash escapes, and pagination.
func (p *Pool) ListUsers(ctx context.Context, in *cip.ListUsersInput, _ ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.begin("ListUsers", aws.ToString(in.UserPoolId), ""); err != nil {
		return nil, err
	}
	match := func(*User) bool { return true }
	if f := aws.ToString(in.Filter); f != "" {
		attr, op, value, err := ParseFilter(f)
		if err != nil {
			return nil, APIError("InvalidParameterException", "Error while parsing filter.")
		}
		field := func(u *User) string {
			switch attr {
			case "email":
				return u.Email
			case "sub":
				return u.Sub
			case "username":
				return u.Username
			}
			return ""
		}
		if op == "=" {
			match = func(u *User) bool { return field(u) == value }
		} else {
			match = func(u *User) bool { return strings.HasPrefix(field(u), value) }
		}
	}
	start := 0
	if t := aws.ToString(in.PaginationToken); t != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(t, "tok-"))
		if err != nil || n < 0 || !strings.HasPrefix(t, "tok-") {
			return nil, APIError("InvalidParameterException", "Invalid pagination token.")
		}
		start = n
	}
	limit := int(aws.ToInt32(in.Limit))
	if limit == 0 {
		limit = 60
	}
	if limit < 0 || limit > 60 {
		return nil, APIError("InvalidParameterException", "Limit out of range.")
	}
	out := &cip.ListUsersOutput{}
	for i := start; i < len(p.users); i++ {
		if !match(p.users[i]) {
			continue
		}
		if len(out.Users) == limit {
			out.PaginationToken = aws.String("tok-" + strconv.Itoa(i))
			break
		}
		out.Users = append(out.Users, userType(p.users[i]))
	}
	return out, nil
}

// ParseFilter reads a filter `attr op "value"` as Cognito's syntax has it:
// inside the quotes a backslash escapes the next character, and \uXXXX is
// the character XXXX. Anything after the closing quote is an error, which
// is how tests tell that a value broke out of its quotes.
func ParseFilter(f string) (attr, op, value string, err error) {
	attr, rest, ok := strings.Cut(f, " ")
	if !ok {
		return "", "", "", errors.New("no operator")
	}
	op, rest, ok = strings.Cut(rest, " ")
	if !ok || (op != "=" && op != "^=") {
		return "", "", "", errors.New("bad operator")
	}
	if len(rest) < 2 || rest[0] != '"' {
		return "", "", "", errors.New("value not quoted")
	}
	var b strings.Builder
	for i := 1; i < len(rest); i++ {
		c := rest[i]
		switch {
		case c == '"':
			if i != len(rest)-1 {
				return "", "", "", errors.New("text after the closing quote")
			}
			return attr, op, b.String(), nil
		case c == '\\':
			i++
			if i == len(rest) {
				return "", "", "", errors.New("dangling backslash")
			}
			if rest[i] == 'u' {
				if i+4 >= len(rest) {
					return "", "", "", errors.New("short \\u escape")
				}
				n, perr := strconv.ParseUint(rest[i+1:i+5], 16, 16)
				if perr != nil {
					return "", "", "", errors.New("bad \\u escape")
				}
				b.WriteRune(rune(n))
				i += 4
				continue
			}
			b.WriteByte(rest[i])
		case c < 0x20:
			return "", "", "", errors.New("raw control character")
		default:
			b.WriteByte(c)
		}
	}
	return "", "", "", errors.New("no closing quote")
}

// AdminGetUser answers as Cognito does.
func (p *Pool) AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, _ ...func(*cip.Options)) (*cip.AdminGetUserOutput, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u, err := p.begin("AdminGetUser", aws.ToString(in.UserPoolId), aws.ToString(in.Username))
	if err != nil {
		return nil, err
	}
	return &cip.AdminGetUserOutput{
		Username:             aws.String(u.Username),
		UserAttributes:       attrs(u),
		Enabled:              u.Enabled,
		UserStatus:           u.Status,
		UserCreateDate:       aws.Time(u.Created),
		UserLastModifiedDate: aws.Time(u.Created),
	}, nil
}

// AdminListGroupsForUser answers in one page.
func (p *Pool) AdminListGroupsForUser(ctx context.Context, in *cip.AdminListGroupsForUserInput, _ ...func(*cip.Options)) (*cip.AdminListGroupsForUserOutput, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u, err := p.begin("AdminListGroupsForUser", aws.ToString(in.UserPoolId), aws.ToString(in.Username))
	if err != nil {
		return nil, err
	}
	out := &cip.AdminListGroupsForUserOutput{}
	for _, g := range u.Groups {
		out.Groups = append(out.Groups, types.GroupType{GroupName: aws.String(g)})
	}
	return out, nil
}

// AdminCreateUser makes a FORCE_CHANGE_PASSWORD account whose username is
// a generated sub, as in a pool whose usernames are emails.
func (p *Pool) AdminCreateUser(ctx context.Context, in *cip.AdminCreateUserInput, _ ...func(*cip.Options)) (*cip.AdminCreateUserOutput, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.begin("AdminCreateUser", aws.ToString(in.UserPoolId), ""); err != nil {
		return nil, err
	}
	email := aws.ToString(in.Username)
	if !strings.Contains(email, "@") {
		return nil, APIError("InvalidParameterException", "Username should be an email.")
	}
	if p.find(email) != nil {
		return nil, APIError("UsernameExistsException", "An account with the given email already exists.")
	}
	name := p.add(User{Email: email, Status: types.UserStatusTypeForceChangePassword, Enabled: true})
	p.Mail = append(p.Mail, "invite "+email)
	return &cip.AdminCreateUserOutput{User: new(userType(p.find(name)))}, nil
}

func (p *Pool) groupCall(op string, pool, username, group string, add bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	u, err := p.begin(op, pool, username)
	if err != nil {
		return err
	}
	if group != "admins" {
		return APIError("ResourceNotFoundException", "Group not found.")
	}
	if add {
		if !slices.Contains(u.Groups, group) {
			u.Groups = append(u.Groups, group)
		}
	} else {
		u.Groups = slices.DeleteFunc(u.Groups, func(g string) bool { return g == group })
	}
	return nil
}

// AdminAddUserToGroup knows the group admins only.
func (p *Pool) AdminAddUserToGroup(ctx context.Context, in *cip.AdminAddUserToGroupInput, _ ...func(*cip.Options)) (*cip.AdminAddUserToGroupOutput, error) {
	err := p.groupCall("AdminAddUserToGroup", aws.ToString(in.UserPoolId), aws.ToString(in.Username), aws.ToString(in.GroupName), true)
	if err != nil {
		return nil, err
	}
	return &cip.AdminAddUserToGroupOutput{}, nil
}

// AdminRemoveUserFromGroup knows the group admins only.
func (p *Pool) AdminRemoveUserFromGroup(ctx context.Context, in *cip.AdminRemoveUserFromGroupInput, _ ...func(*cip.Options)) (*cip.AdminRemoveUserFromGroupOutput, error) {
	err := p.groupCall("AdminRemoveUserFromGroup", aws.ToString(in.UserPoolId), aws.ToString(in.Username), aws.ToString(in.GroupName), false)
	if err != nil {
		return nil, err
	}
	return &cip.AdminRemoveUserFromGroupOutput{}, nil
}

func (p *Pool) change(op, pool, username string, f func(*User) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	u, err := p.begin(op, pool, username)
	if err != nil {
		return err
	}
	return f(u)
}

// AdminDisableUser disables the account.
func (p *Pool) AdminDisableUser(ctx context.Context, in *cip.AdminDisableUserInput, _ ...func(*cip.Options)) (*cip.AdminDisableUserOutput, error) {
	err := p.change("AdminDisableUser", aws.ToString(in.UserPoolId), aws.ToString(in.Username), func(u *User) error { u.Enabled = false; return nil })
	if err != nil {
		return nil, err
	}
	return &cip.AdminDisableUserOutput{}, nil
}

// AdminEnableUser enables the account.
func (p *Pool) AdminEnableUser(ctx context.Context, in *cip.AdminEnableUserInput, _ ...func(*cip.Options)) (*cip.AdminEnableUserOutput, error) {
	err := p.change("AdminEnableUser", aws.ToString(in.UserPoolId), aws.ToString(in.Username), func(u *User) error { u.Enabled = true; return nil })
	if err != nil {
		return nil, err
	}
	return &cip.AdminEnableUserOutput{}, nil
}

// AdminResetUserPassword refuses accounts that never set a password, as
// Cognito does.
func (p *Pool) AdminResetUserPassword(ctx context.Context, in *cip.AdminResetUserPasswordInput, _ ...func(*cip.Options)) (*cip.AdminResetUserPasswordOutput, error) {
	err := p.change("AdminResetUserPassword", aws.ToString(in.UserPoolId), aws.ToString(in.Username), func(u *User) error {
		if u.Status == types.UserStatusTypeForceChangePassword {
			return APIError("NotAuthorizedException", "User password cannot be reset in the current state.")
		}
		u.Status = types.UserStatusTypeResetRequired
		p.Mail = append(p.Mail, "reset "+u.Username)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &cip.AdminResetUserPasswordOutput{}, nil
}

// AdminUserGlobalSignOut counts the sign-outs.
func (p *Pool) AdminUserGlobalSignOut(ctx context.Context, in *cip.AdminUserGlobalSignOutInput, _ ...func(*cip.Options)) (*cip.AdminUserGlobalSignOutOutput, error) {
	err := p.change("AdminUserGlobalSignOut", aws.ToString(in.UserPoolId), aws.ToString(in.Username), func(u *User) error { u.SignedOut++; return nil })
	if err != nil {
		return nil, err
	}
	return &cip.AdminUserGlobalSignOutOutput{}, nil
}

// Throttled is the error the SDK returns when Cognito throttles a call,
// carrying Cognito's request id as the SDK does.
func Throttled(op, requestID string) error {
	return responseError(op, requestID, http.StatusBadRequest, &types.TooManyRequestsException{Message: aws.String("Rate exceeded")})
}

// NotFound is the error the SDK returns for an account that does not
// exist, with Cognito's request id.
func NotFound(op, requestID string) error {
	return responseError(op, requestID, http.StatusBadRequest, &types.UserNotFoundException{Message: aws.String("User does not exist.")})
}

func responseError(op, requestID string, status int, err error) error {
	return &smithy.OperationError{
		ServiceID:     "Cognito Identity Provider",
		OperationName: op,
		Err: &awshttp.ResponseError{
			RequestID: requestID,
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: http.Header{}}},
				Err:      err,
			},
		},
	}
}
