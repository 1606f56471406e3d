package service

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/model"
	"github.com/llmplatform/llmplatform/apiserver/security"
	"github.com/llmplatform/llmplatform/apiserver/store"
)

// UserStore is what the user service needs from the database.
type UserStore interface {
	AuditStore
	UserByID(ctx context.Context, id string) (*model.User, error)
	CreateUser(ctx context.Context, u *model.User) error
	UpdateProfile(ctx context.Context, id string, email, displayName *string) (*model.User, error)
	ListUsers(ctx context.Context, f store.UserFilter, p model.PageRequest) (model.Page[model.User], error)
	SetActive(ctx context.Context, id string, active bool) (*model.User, error)
	SetRole(ctx context.Context, id, role string) (*model.User, error)
	DeleteUser(ctx context.Context, id string) error
	ListAudit(ctx context.Context, f store.AuditFilter, p model.PageRequest) (model.Page[model.AuditEntry], error)
}

// SessionInvalidator drops cached session states of a user (the auth service).
type SessionInvalidator interface {
	InvalidateUser(userID string)
}

// Users is profiles and the admins' user management.
type Users struct {
	store    UserStore
	hasher   *security.Hasher
	sessions SessionInvalidator
	audit    auditor
}

// NewUsers returns the user service.
func NewUsers(st UserStore, hasher *security.Hasher, sessions SessionInvalidator, log *slog.Logger) *Users {
	return &Users{store: st, hasher: hasher, sessions: sessions, audit: auditor{st, log}}
}

// Me returns the caller's account.
func (s *Users) Me(ctx context.Context, p model.Principal) (*model.User, error) {
	return s.store.UserByID(ctx, p.UserID)
}

// ProfileUpdate holds the fields to change; nil leaves one as it is.
type ProfileUpdate struct {
	Email       *string
	DisplayName *string
}

// UpdateProfile changes the caller's email or display name.
func (s *Users) UpdateProfile(ctx context.Context, p model.Principal, in ProfileUpdate) (*model.User, error) {
	var v apperr.Validation
	if in.Email != nil {
		email, ok := normalizeEmail(*in.Email)
		v.Check(ok, "email", "must be an email address such as ada@example.com")
		in.Email = &email
	}
	if in.DisplayName != nil {
		name := strings.TrimSpace(*in.DisplayName)
		checkDisplayName(&v, name)
		in.DisplayName = &name
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.store.UpdateProfile(ctx, p.UserID, in.Email, in.DisplayName)
}

// DeleteSelf deletes the caller's account after checking the password.
func (s *Users) DeleteSelf(ctx context.Context, p model.Principal, password string, client ClientInfo) error {
	u, err := s.store.UserByID(ctx, p.UserID)
	if err != nil {
		return err
	}
	ok, _, err := s.hasher.Verify(ctx, password, u.PasswordHash)
	if err != nil && !errors.Is(err, security.ErrMalformedHash) {
		return err
	}
	if !ok {
		return apperr.Forbidden("wrong_password", "the password is wrong")
	}
	if err := s.store.DeleteUser(ctx, u.ID); err != nil {
		return err
	}
	s.sessions.InvalidateUser(u.ID)
	e := actor(p, client, model.AuditUserDeletedSelf)
	e.TargetType, e.TargetID = "user", u.ID
	s.audit.record(ctx, e)
	return nil
}

// List returns users for an admin.
func (s *Users) List(ctx context.Context, f store.UserFilter, p model.PageRequest) (model.Page[model.User], error) {
	var v apperr.Validation
	v.Check(f.Role == "" || f.Role == model.RoleAdmin || f.Role == model.RoleUser, "role", "must be admin or user")
	v.Check(runes(f.Query) <= MaxSearchLen, "q", "must be at most 200 characters")
	if err := v.Err(); err != nil {
		return model.Page[model.User]{}, err
	}
	return s.store.ListUsers(ctx, f, p)
}

// CreateUserInput is an account an admin creates (registration may be closed).
type CreateUserInput struct {
	RegisterInput
	// Role is admin or user; empty means user.
	Role string
}

// Create creates an account for an admin, whatever the registration mode.
func (s *Users) Create(ctx context.Context, admin model.Principal, in CreateUserInput, client ClientInfo) (*model.User, error) {
	if in.Role == "" {
		in.Role = model.RoleUser
	}
	var v apperr.Validation
	email := checkAccount(&v, in.RegisterInput)
	v.Check(in.Role == model.RoleAdmin || in.Role == model.RoleUser, "role", "must be admin or user")
	if err := v.Err(); err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	u := &model.User{Username: in.Username, Email: &email, DisplayName: strings.TrimSpace(in.DisplayName), Role: in.Role, PasswordHash: hash}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	e := actor(admin, client, model.AuditAdminCreatedUser)
	e.TargetType, e.TargetID, e.Details = "user", u.ID, map[string]any{"username": u.Username, "role": u.Role}
	s.audit.record(ctx, e)
	return u, nil
}

// Get returns one user for an admin.
func (s *Users) Get(ctx context.Context, id string) (*model.User, error) {
	return s.store.UserByID(ctx, id)
}

// SetActive activates or deactivates a user; deactivation ends all the user's sessions at once.
func (s *Users) SetActive(ctx context.Context, admin model.Principal, id string, active bool, client ClientInfo) (*model.User, error) {
	u, err := s.store.SetActive(ctx, id, active)
	if err != nil {
		return nil, err
	}
	s.sessions.InvalidateUser(id)
	action := model.AuditAdminActivated
	if !active {
		action = model.AuditAdminDeactivated
	}
	e := actor(admin, client, action)
	e.TargetType, e.TargetID, e.Details = "user", id, map[string]any{"username": u.Username}
	s.audit.record(ctx, e)
	return u, nil
}

// SetRole changes a user's role.
func (s *Users) SetRole(ctx context.Context, admin model.Principal, id, role string, client ClientInfo) (*model.User, error) {
	var v apperr.Validation
	v.Check(role == model.RoleAdmin || role == model.RoleUser, "role", "must be admin or user")
	if err := v.Err(); err != nil {
		return nil, err
	}
	u, err := s.store.SetRole(ctx, id, role)
	if err != nil {
		return nil, err
	}
	s.sessions.InvalidateUser(id)
	e := actor(admin, client, model.AuditAdminRoleChanged)
	e.TargetType, e.TargetID, e.Details = "user", id, map[string]any{"username": u.Username, "role": role}
	s.audit.record(ctx, e)
	return u, nil
}

// Delete deletes a user and everything it owns.
func (s *Users) Delete(ctx context.Context, admin model.Principal, id string, client ClientInfo) error {
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteUser(ctx, id); err != nil {
		return err
	}
	s.sessions.InvalidateUser(id)
	e := actor(admin, client, model.AuditAdminDeletedUser)
	e.TargetType, e.TargetID, e.Details = "user", id, map[string]any{"username": u.Username}
	s.audit.record(ctx, e)
	return nil
}

// Audit returns the audit log for an admin.
func (s *Users) Audit(ctx context.Context, f store.AuditFilter, p model.PageRequest) (model.Page[model.AuditEntry], error) {
	var v apperr.Validation
	known := f.Action == ""
	for _, a := range model.AuditActions {
		known = known || a == f.Action
	}
	v.Check(known, "action", "is not a known audit action")
	if err := v.Err(); err != nil {
		return model.Page[model.AuditEntry]{}, err
	}
	return s.store.ListAudit(ctx, f, p)
}
