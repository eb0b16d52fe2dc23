package idp

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/usersvc/usersvc/web/idp/users"
)

// The JSON API's admin operations (SigV4-signed with the provider's key
// pair: see checkSignature) and the operation table.

// apiOperations lists every operation of the JSON API.
func (s *Server) apiOperations() map[string]operation {
	return map[string]operation{
		// Users of an app client.
		"SignUp":                 op(false, s.apiSignUp),
		"ConfirmSignUp":          op(false, s.apiConfirmSignUp),
		"ResendConfirmationCode": op(false, s.apiResendConfirmationCode),
		"InitiateAuth":           op(false, s.apiInitiateAuth),
		"RespondToAuthChallenge": op(false, s.apiRespondToAuthChallenge),
		"ForgotPassword":         op(false, s.apiForgotPassword),
		"ConfirmForgotPassword":  op(false, s.apiConfirmForgotPassword),
		"GetUser":                op(false, s.apiGetUser),
		"UpdateUserAttributes":   op(false, s.apiUpdateUserAttributes),
		"ChangePassword":         op(false, s.apiChangePassword),
		"GlobalSignOut":          op(false, s.apiGlobalSignOut),
		"RevokeToken":            op(false, s.apiRevokeToken),
		"DeleteUser":             op(false, s.apiDeleteUser),
		// A changed email takes effect once verified (cognito_public.go).
		"VerifyUserAttribute":              op(false, s.apiVerifyUserAttribute),
		"GetUserAttributeVerificationCode": op(false, s.apiGetUserAttributeVerificationCode),

		// Administrators (AWS credentials).
		"AdminCreateUser":             op(true, s.apiAdminCreateUser),
		"AdminGetUser":                op(true, s.apiAdminGetUser),
		"AdminDeleteUser":             op(true, s.apiAdminDeleteUser),
		"AdminDisableUser":            op(true, s.apiAdminDisableUser),
		"AdminEnableUser":             op(true, s.apiAdminEnableUser),
		"AdminConfirmSignUp":          op(true, s.apiAdminConfirmSignUp),
		"AdminSetUserPassword":        op(true, s.apiAdminSetUserPassword),
		"AdminResetUserPassword":      op(true, s.apiAdminResetUserPassword),
		"AdminUpdateUserAttributes":   op(true, s.apiAdminUpdateUserAttributes),
		"AdminInitiateAuth":           op(true, s.apiAdminInitiateAuth),
		"AdminRespondToAuthChallenge": op(true, s.apiAdminRespondToAuthChallenge),
		"AdminUserGlobalSignOut":      op(true, s.apiAdminUserGlobalSignOut),
		"AdminAddUserToGroup":         op(true, s.apiAdminAddUserToGroup),
		"AdminRemoveUserFromGroup":    op(true, s.apiAdminRemoveUserFromGroup),
		"AdminListGroupsForUser":      op(true, s.apiAdminListGroupsForUser),
		"ListUsers":                   op(true, s.apiListUsers),
		"ListUsersInGroup":            op(true, s.apiListUsersInGroup),
		"ListGroups":                  op(true, s.apiListGroups),
		"GetGroup":                    op(true, s.apiGetGroup),
		"DescribeUserPool":            op(true, s.apiDescribeUserPool),
		"DescribeUserPoolClient":      op(true, s.apiDescribeUserPoolClient),
		"ListUserPoolClients":         op(true, s.apiListUserPoolClients),
	}
}

// checkPool refuses a pool id other than the provider's.
func (s *Server) checkPool(id string) error {
	if err := required("UserPoolId", id); err != nil {
		return err
	}
	if id != s.poolID {
		return apiErr(excResourceNotFound, "User pool %s does not exist.", truncate(id, 64))
	}
	return nil
}

// userIn names a user of the pool, the members every Admin*User operation
// has.
type userIn struct {
	UserPoolId     string
	Username       string
	ClientMetadata map[string]string
}

// adminUser returns the account an admin operation names.
func (s *Server) adminUser(ctx context.Context, in userIn) (users.User, error) {
	if err := s.checkPool(in.UserPoolId); err != nil {
		return users.User{}, err
	}
	if err := required("Username", in.Username); err != nil {
		return users.User{}, err
	}
	u, err := s.users.Lookup(ctx, in.Username)
	if errors.Is(err, users.ErrNotFound) {
		return u, apiErr(excUserNotFound, "User does not exist.")
	}
	return u, err
}

// epoch is a timestamp as AWS JSON sends it: seconds since 1970.
func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// userType is Cognito's UserType (ListUsers, AdminCreateUser).
type userType struct {
	Username             string      `json:"Username"`
	Attributes           []attribute `json:"Attributes"`
	UserCreateDate       float64     `json:"UserCreateDate"`
	UserLastModifiedDate float64     `json:"UserLastModifiedDate"`
	Enabled              bool        `json:"Enabled"`
	UserStatus           string      `json:"UserStatus"`
}

func toUserType(u users.User, only []string) userType {
	return userType{
		Username: u.Sub, Attributes: attributeList(u, only), UserCreateDate: epoch(u.Created),
		UserLastModifiedDate: epoch(u.Updated), Enabled: !u.Disabled, UserStatus: string(u.Status),
	}
}

// ---- Users

type adminCreateUserIn struct {
	userIn
	TemporaryPassword      string
	UserAttributes         []attribute
	ValidationData         []attribute
	MessageAction          string
	DesiredDeliveryMediums []string
	ForceAliasCreation     bool
}

func (s *Server) apiAdminCreateUser(ctx context.Context, in *adminCreateUserIn) (any, error) {
	if err := s.checkPool(in.UserPoolId); err != nil {
		return nil, err
	}
	if err := required("Username", in.Username); err != nil {
		return nil, err
	}
	switch in.MessageAction {
	case "", "SUPPRESS", "RESEND":
	default:
		return nil, apiErr(excInvalidParameter, "1 validation error detected: Value '%s' at 'messageAction' failed to satisfy constraint: Member must satisfy enum value set: [RESEND, SUPPRESS]", truncate(in.MessageAction, 32))
	}
	for _, m := range in.DesiredDeliveryMediums {
		if m != "EMAIL" {
			return nil, apiErr(excInvalidParameter, "This pool delivers messages by EMAIL only.")
		}
	}
	email, err := users.NormalizeEmail(in.Username)
	if err != nil {
		return nil, apiErr(excInvalidParameter, "Username should be an email.")
	}
	attrs, err := userAttributes(in.UserAttributes, true)
	if err != nil {
		return nil, err
	}
	if e, ok := attrs["email"]; ok {
		if ne, err := users.NormalizeEmail(e); err != nil || ne != email {
			return nil, apiErr(excInvalidParameter, "The email attribute must be the username.")
		}
	}
	verified := attrs["email_verified"] == "true"
	delete(attrs, "email")
	delete(attrs, "email_verified")
	if len(attrs) == 0 {
		attrs = nil
	}
	temp := in.TemporaryPassword
	if temp == "" {
		temp = users.GeneratePassword()
	} else if err := passwordPolicy(temp); err != nil {
		return nil, err
	}
	var u users.User
	if in.MessageAction == "RESEND" {
		if u, err = s.users.Lookup(ctx, email); errors.Is(err, users.ErrNotFound) {
			return nil, apiErr(excUserNotFound, "User does not exist.")
		} else if err != nil {
			return nil, err
		}
		if u.Status != users.ForceChangePassword {
			return nil, apiErr("UnsupportedUserStateException", "Resend not possible. %s status is not FORCE_CHANGE_PASSWORD", u.Sub)
		}
		if err := s.users.SetPassword(ctx, u.Sub, temp, users.ForceChangePassword); err != nil {
			return nil, err
		}
	} else {
		u, err = s.users.Create(ctx, email, temp, users.ForceChangePassword, verified, attrs)
		if errors.Is(err, users.ErrExists) {
			return nil, apiErr(excUsernameExists, "User account already exists")
		}
		if err != nil {
			return nil, err
		}
		s.log.InfoContext(ctx, "user created", "sub", u.Sub, "via", "admin api")
	}
	if in.MessageAction != "SUPPRESS" {
		if _, err := s.outbox.Send(u.Email, "Your temporary password",
			"An account was created for you.\n\nYour username is "+u.Email+" and your temporary password is\n\n"+temp+
				"\n\nSign in with them; you will be asked to choose a new password.\n"); err != nil {
			return nil, err
		}
	}
	return map[string]any{"User": toUserType(u, nil)}, nil
}

func (s *Server) apiAdminGetUser(ctx context.Context, in *userIn) (any, error) {
	u, err := s.adminUser(ctx, *in)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"Username": u.Sub, "UserAttributes": attributeList(u, nil), "UserCreateDate": epoch(u.Created),
		"UserLastModifiedDate": epoch(u.Updated), "Enabled": !u.Disabled, "UserStatus": string(u.Status),
	}, nil
}

func (s *Server) apiAdminDeleteUser(ctx context.Context, in *userIn) (any, error) {
	u, err := s.adminUser(ctx, *in)
	if err != nil {
		return nil, err
	}
	return struct{}{}, s.deleteAccount(ctx, u.Sub)
}

func (s *Server) apiAdminDisableUser(ctx context.Context, in *userIn) (any, error) {
	u, err := s.adminUser(ctx, *in)
	if err != nil {
		return nil, err
	}
	if err := s.users.SetDisabled(ctx, u.Sub, true); err != nil {
		return nil, err
	}
	// As Cognito's: disabling revokes what the account holds. (A disabled
	// account's refresh tokens are refused anyway; the error still tells
	// the operator that the revocation is not done.)
	s.log.InfoContext(ctx, "user disabled", "sub", u.Sub)
	return struct{}{}, s.endAccountSessions(ctx, u.Sub)
}

func (s *Server) apiAdminEnableUser(ctx context.Context, in *userIn) (any, error) {
	u, err := s.adminUser(ctx, *in)
	if err != nil {
		return nil, err
	}
	return struct{}{}, s.users.SetDisabled(ctx, u.Sub, false)
}

func (s *Server) apiAdminConfirmSignUp(ctx context.Context, in *userIn) (any, error) {
	u, err := s.adminUser(ctx, *in)
	if err != nil {
		return nil, err
	}
	err = s.users.Confirm(ctx, u.Sub)
	if errors.Is(err, users.ErrNotUnconfirmed) {
		return nil, apiErr(excNotAuthorized, "User cannot be confirmed. Current status is %s", u.Status)
	}
	return struct{}{}, err
}

type adminSetPasswordIn struct {
	userIn
	Password  string
	Permanent bool
}

func (s *Server) apiAdminSetUserPassword(ctx context.Context, in *adminSetPasswordIn) (any, error) {
	if err := required("Password", in.Password); err != nil {
		return nil, err
	}
	u, err := s.adminUser(ctx, in.userIn)
	if err != nil {
		return nil, err
	}
	if err := passwordPolicy(in.Password); err != nil {
		return nil, err
	}
	st := users.ForceChangePassword
	if in.Permanent {
		st = users.Confirmed
	}
	if err := s.users.SetPassword(ctx, u.Sub, in.Password, st); err != nil {
		return nil, err
	}
	// An error here comes after the password changed: the operator sees
	// an internal error and calls again (or AdminUserGlobalSignOut).
	return struct{}{}, s.endAccountSessions(ctx, u.Sub)
}

func (s *Server) apiAdminResetUserPassword(ctx context.Context, in *userIn) (any, error) {
	u, err := s.adminUser(ctx, *in)
	if err != nil {
		return nil, err
	}
	// A signed call is an operator's act, not an anonymous flood: the
	// mail limits of ForgotPassword are not applied to it (applied after
	// the state change, they refused the call with the account already
	// reset and its tokens revoked). The state changes first, as the code
	// must come after it (RequireReset drops earlier codes), and the
	// revocation must follow it (before it, the old password could sign in
	// again between the two). A failure after RequireReset is answered as
	// an internal error, and a retry, which redoes every step, finishes.
	if err := s.users.RequireReset(ctx, u.Sub); err != nil {
		return nil, err
	}
	if err := s.endAccountSessions(ctx, u.Sub); err != nil {
		return nil, err
	}
	if err := s.mailResetCode(ctx, u); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type adminUpdateAttrsIn struct {
	userIn
	UserAttributes []attribute
}

func (s *Server) apiAdminUpdateUserAttributes(ctx context.Context, in *adminUpdateAttrsIn) (any, error) {
	u, err := s.adminUser(ctx, in.userIn)
	if err != nil {
		return nil, err
	}
	attrs, err := userAttributes(in.UserAttributes, true)
	if err != nil {
		return nil, err
	}
	return struct{}{}, s.updateAttributes(ctx, u.Sub, attrs)
}

func (s *Server) apiAdminUserGlobalSignOut(ctx context.Context, in *userIn) (any, error) {
	u, err := s.adminUser(ctx, *in)
	if err != nil {
		return nil, err
	}
	return struct{}{}, s.endAccountSessions(ctx, u.Sub)
}

// ---- Groups

type groupMemberIn struct {
	userIn
	GroupName string
}

func (s *Server) setGroup(ctx context.Context, in *groupMemberIn, member bool) (any, error) {
	if err := required("GroupName", in.GroupName); err != nil {
		return nil, err
	}
	u, err := s.adminUser(ctx, in.userIn)
	if err != nil {
		return nil, err
	}
	err = s.users.SetGroup(ctx, u.Sub, in.GroupName, member)
	if errors.Is(err, users.ErrNoGroup) {
		return nil, apiErr(excResourceNotFound, "Group not found.")
	}
	return struct{}{}, err
}

func (s *Server) apiAdminAddUserToGroup(ctx context.Context, in *groupMemberIn) (any, error) {
	return s.setGroup(ctx, in, true)
}

func (s *Server) apiAdminRemoveUserFromGroup(ctx context.Context, in *groupMemberIn) (any, error) {
	return s.setGroup(ctx, in, false)
}

// groupType is Cognito's GroupType.
type groupType struct {
	GroupName        string  `json:"GroupName"`
	UserPoolId       string  `json:"UserPoolId"`
	Description      string  `json:"Description,omitempty"`
	Precedence       *int32  `json:"Precedence,omitempty"`
	CreationDate     float64 `json:"CreationDate"`
	LastModifiedDate float64 `json:"LastModifiedDate"`
}

func (s *Server) toGroupType(g users.Group) groupType {
	return groupType{GroupName: g.Name, UserPoolId: s.poolID, Description: g.Description, Precedence: g.Precedence,
		CreationDate: epoch(g.Created), LastModifiedDate: epoch(g.Updated)}
}

type pageIn struct {
	Limit     *int32
	NextToken string
}

func (s *Server) apiAdminListGroupsForUser(ctx context.Context, in *struct {
	userIn
	pageIn
}) (any, error) {
	u, err := s.adminUser(ctx, in.userIn)
	if err != nil {
		return nil, err
	}
	out := []groupType{}
	for _, name := range u.Groups {
		if g, err := s.users.Group(ctx, name); err == nil {
			out = append(out, s.toGroupType(g))
		}
	}
	return map[string]any{"Groups": out}, nil
}

func (s *Server) apiListGroups(ctx context.Context, in *struct {
	UserPoolId string
	pageIn
}) (any, error) {
	if err := s.checkPool(in.UserPoolId); err != nil {
		return nil, err
	}
	gs, err := s.users.Groups(ctx)
	if err != nil {
		return nil, err
	}
	out := []groupType{}
	for _, g := range gs {
		out = append(out, s.toGroupType(g))
	}
	return map[string]any{"Groups": out}, nil
}

func (s *Server) apiGetGroup(ctx context.Context, in *struct {
	UserPoolId string
	GroupName  string
}) (any, error) {
	if err := s.checkPool(in.UserPoolId); err != nil {
		return nil, err
	}
	if err := required("GroupName", in.GroupName); err != nil {
		return nil, err
	}
	g, err := s.users.Group(ctx, in.GroupName)
	if errors.Is(err, users.ErrNoGroup) {
		return nil, apiErr(excResourceNotFound, "Group not found.")
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"Group": s.toGroupType(g)}, nil
}

// listLimit checks a Limit member (1 to 60, 60 when absent).
func listLimit(name string, l *int32) (int, error) {
	if l == nil {
		return users.MaxListLimit, nil
	}
	if *l < 0 || *l > users.MaxListLimit {
		return 0, apiErr(excInvalidParameter, "1 validation error detected: Value '%d' at '%s' failed to satisfy constraint: Member must have value less than or equal to %d", *l, name, users.MaxListLimit)
	}
	if *l == 0 {
		return users.MaxListLimit, nil
	}
	return int(*l), nil
}

type listUsersIn struct {
	UserPoolId      string
	AttributesToGet []string
	Filter          string
	Limit           *int32
	PaginationToken string
}

func (s *Server) apiListUsers(ctx context.Context, in *listUsersIn) (any, error) {
	if err := s.checkPool(in.UserPoolId); err != nil {
		return nil, err
	}
	limit, err := listLimit("limit", in.Limit)
	if err != nil {
		return nil, err
	}
	f, err := users.ParseFilter(in.Filter)
	if err != nil {
		return nil, apiErr(excInvalidParameter, "Invalid search filter: %s", strings.TrimPrefix(err.Error(), users.ErrBadFilter.Error()+": "))
	}
	only := in.AttributesToGet
	if only != nil && len(only) == 0 {
		only = nil
	}
	list, next, err := s.users.List(ctx, f, limit, in.PaginationToken)
	if errors.Is(err, users.ErrBadToken) {
		return nil, apiErr(excInvalidParameter, "Invalid pagination token.")
	}
	if err != nil {
		return nil, err
	}
	out := make([]userType, 0, len(list))
	for _, u := range list {
		out = append(out, toUserType(u, only))
	}
	res := map[string]any{"Users": out}
	if next != "" {
		res["PaginationToken"] = next
	}
	return res, nil
}

func (s *Server) apiListUsersInGroup(ctx context.Context, in *struct {
	UserPoolId string
	GroupName  string
	pageIn
}) (any, error) {
	if err := s.checkPool(in.UserPoolId); err != nil {
		return nil, err
	}
	if err := required("GroupName", in.GroupName); err != nil {
		return nil, err
	}
	limit, err := listLimit("limit", in.Limit)
	if err != nil {
		return nil, err
	}
	list, next, err := s.users.InGroup(ctx, in.GroupName, limit, in.NextToken)
	switch {
	case errors.Is(err, users.ErrNoGroup):
		return nil, apiErr(excResourceNotFound, "Group not found.")
	case errors.Is(err, users.ErrBadToken):
		return nil, apiErr(excInvalidParameter, "Invalid pagination token.")
	case err != nil:
		return nil, err
	}
	out := make([]userType, 0, len(list))
	for _, u := range list {
		out = append(out, toUserType(u, nil))
	}
	res := map[string]any{"Users": out}
	if next != "" {
		res["NextToken"] = next
	}
	return res, nil
}

// ---- The pool and its clients

func (s *Server) apiDescribeUserPool(ctx context.Context, in *struct{ UserPoolId string }) (any, error) {
	if err := s.checkPool(in.UserPoolId); err != nil {
		return nil, err
	}
	n, err := s.users.Count(ctx)
	if err != nil {
		return nil, err
	}
	region, _, _ := strings.Cut(s.poolID, "_")
	return map[string]any{"UserPool": map[string]any{
		"Id": s.poolID, "Name": s.poolName(), "Arn": "arn:aws:cognito-idp:" + region + ":000000000000:userpool/" + s.poolID,
		"UsernameAttributes": []string{"email"}, "AutoVerifiedAttributes": []string{"email"},
		"EstimatedNumberOfUsers": n, "MfaConfiguration": "OFF", "DeletionProtection": "INACTIVE",
		"Policies": map[string]any{"PasswordPolicy": map[string]any{
			"MinimumLength": 8, "RequireUppercase": true, "RequireLowercase": true, "RequireNumbers": true,
			"RequireSymbols": true, "TemporaryPasswordValidityDays": 7,
		}},
		"VerificationMessageTemplate": map[string]any{"DefaultEmailOption": "CONFIRM_WITH_LINK"},
		"AdminCreateUserConfig":       map[string]any{"AllowAdminCreateUserOnly": false},
		"UsernameConfiguration":       map[string]any{"CaseSensitive": false},
		"AccountRecoverySetting": map[string]any{"RecoveryMechanisms": []map[string]any{
			{"Name": "verified_email", "Priority": 1},
		}},
	}}, nil
}

func (s *Server) apiDescribeUserPoolClient(ctx context.Context, in *struct {
	UserPoolId string
	ClientId   string
}) (any, error) {
	if err := s.checkPool(in.UserPoolId); err != nil {
		return nil, err
	}
	c, err := s.apiClient(in.ClientId)
	if err != nil {
		return nil, err
	}
	d := map[string]any{
		"UserPoolId": s.poolID, "ClientId": c.ClientId, "ClientName": c.ClientName,
		"CallbackURLs": c.CallbackURLs, "LogoutURLs": c.LogoutURLs, "AllowedOAuthFlows": []string{"code"},
		"AllowedOAuthScopes": c.AllowedOAuthScopes, "AllowedOAuthFlowsUserPoolClient": true,
		"ExplicitAuthFlows": c.flows(), "SupportedIdentityProviders": []string{"COGNITO"},
		"PreventUserExistenceErrors": "ENABLED", "EnableTokenRevocation": true,
		"IdTokenValidity": int64(c.ttl.id / time.Minute), "AccessTokenValidity": int64(c.ttl.access / time.Minute),
		"RefreshTokenValidity": int64(c.ttl.refresh / time.Minute),
		"TokenValidityUnits":   map[string]string{"IdToken": "minutes", "AccessToken": "minutes", "RefreshToken": "minutes"},
	}
	if !c.preventsExistenceErrors() {
		d["PreventUserExistenceErrors"] = "LEGACY"
	}
	if c.ClientSecret != "" {
		d["ClientSecret"] = c.ClientSecret
	}
	return map[string]any{"UserPoolClient": d}, nil
}

func (s *Server) apiListUserPoolClients(ctx context.Context, in *struct {
	UserPoolId string
	MaxResults *int32
	NextToken  string
}) (any, error) {
	if err := s.checkPool(in.UserPoolId); err != nil {
		return nil, err
	}
	if _, err := listLimit("maxResults", in.MaxResults); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(s.clients))
	for id := range s.clients {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := []map[string]string{}
	for _, id := range ids {
		out = append(out, map[string]string{"ClientId": id, "ClientName": s.clients[id].ClientName, "UserPoolId": s.poolID})
	}
	return map[string]any{"UserPoolClients": out}, nil
}
