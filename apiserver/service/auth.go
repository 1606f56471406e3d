package service

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/model"
	"github.com/llmplatform/llmplatform/apiserver/security"
	"github.com/llmplatform/llmplatform/apiserver/settings"
	"github.com/llmplatform/llmplatform/apiserver/store"
)

// AuthStore is what the auth service needs from the database.
type AuthStore interface {
	AuditStore
	CreateUser(ctx context.Context, u *model.User) error
	UserByID(ctx context.Context, id string) (*model.User, error)
	UserByLogin(ctx context.Context, login string) (*model.User, error)
	SetPasswordHash(ctx context.Context, id, hash string, endSessionsExcept *string) error
	RehashPassword(ctx context.Context, id, old, hash string) error
	CreateSession(ctx context.Context, s store.NewSession) (string, error)
	RotateRefreshToken(ctx context.Context, old, newHash []byte, ttl time.Duration) (store.Rotation, error)
	RevokeSessionByToken(ctx context.Context, hash []byte, reason string) (sessionID, userID string, err error)
	AuthState(ctx context.Context, userID, sessionID string) (*model.AuthState, error)
	LockedUntil(ctx context.Context, keys []string) (time.Time, error)
	RecordFailure(ctx context.Context, key string, window time.Duration, max int, lock time.Duration) (time.Time, error)
	ClearFailures(ctx context.Context, key string) error
}

// Throttle sets how many failed logins lock an account name or a client address, and for how long.
type Throttle struct {
	AccountFailures int
	AddressFailures int
	Window          time.Duration
	Lock            time.Duration
}

// DefaultThrottle locks an account name after 10 failures in 15 minutes, and a client address after 50,
// for 15 minutes.
var DefaultThrottle = Throttle{AccountFailures: 10, AddressFailures: 50, Window: 15 * time.Minute, Lock: 15 * time.Minute}

// authCacheTTL bounds how long a revocation in another replica takes to apply here; revocations in this
// replica apply at once.
const authCacheTTL = time.Second

// Auth is accounts' authentication: registration, login, sessions, access tokens.
type Auth struct {
	store    AuthStore
	settings func() *settings.Snapshot
	hasher   *security.Hasher
	throttle Throttle
	audit    auditor
	log      *slog.Logger
	now      func() time.Time
	cache    *authCache
	verified *tokenCache

	dummyOnce sync.Once
	dummyHash string
}

// NewAuth returns the auth service.
func NewAuth(st AuthStore, snap func() *settings.Snapshot, hasher *security.Hasher, throttle Throttle, log *slog.Logger) *Auth {
	return &Auth{store: st, settings: snap, hasher: hasher, throttle: throttle, audit: auditor{st, log}, log: log,
		now: time.Now, cache: newAuthCache(), verified: &tokenCache{}}
}

// Argon2From returns the hashing parameters of a config.
func Argon2From(c *config.Config) security.Argon2Params {
	h := c.Auth.PasswordHashing
	return security.Argon2Params{MemoryKiB: h.MemoryKiB, Iterations: h.Iterations, Parallelism: h.Parallelism}
}

// Tokens is a signed-in session's credentials.
type Tokens struct {
	User             *model.User
	AccessToken      string
	ExpiresIn        time.Duration
	RefreshToken     string
	RefreshExpiresIn time.Duration
}

// RegisterInput is a new account.
type RegisterInput struct {
	Username    string
	Email       string
	Password    string
	DisplayName string
}

// Register creates an account, when registration is open, and signs it in.
func (a *Auth) Register(ctx context.Context, in RegisterInput, client ClientInfo) (*Tokens, error) {
	if a.settings().Config.Auth.Registration != config.RegistrationOpen {
		return nil, apperr.Forbidden("registration_closed", "registration is closed on this platform; ask an admin for an account")
	}
	var v apperr.Validation
	email := checkAccount(&v, in)
	if err := v.Err(); err != nil {
		return nil, err
	}
	hash, err := a.hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	u := &model.User{Username: in.Username, Email: &email, DisplayName: strings.TrimSpace(in.DisplayName),
		Role: model.RoleUser, PasswordHash: hash}
	if err := a.store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	a.audit.record(ctx, model.AuditEntry{Action: model.AuditUserRegistered, ActorID: &u.ID, ActorUsername: u.Username,
		TargetType: "user", TargetID: u.ID, ClientIP: client.IP})
	return a.startSession(ctx, u, client)
}

func (a *Auth) startSession(ctx context.Context, u *model.User, client ClientInfo) (*Tokens, error) {
	cfg := a.settings().Config
	refresh, hash, err := security.NewRefreshToken()
	if err != nil {
		return nil, err
	}
	sid, err := a.store.CreateSession(ctx, store.NewSession{UserID: u.ID, TokenHash: hash, TTL: cfg.Auth.RefreshTokenTTL.Duration,
		UserAgent: truncate(client.UserAgent, 200), ClientIP: client.IP, UpdateLogin: true})
	if err != nil {
		return nil, err
	}
	now := a.now()
	u.LastLoginAt = &now
	return a.tokens(u, sid, refresh)
}

func (a *Auth) tokens(u *model.User, sessionID, refresh string) (*Tokens, error) {
	snap := a.settings()
	ttl := snap.Config.Auth.AccessTokenTTL.Duration
	access, err := security.SignAccessToken(snap.JWTKey, u.ID, sessionID, a.now(), ttl)
	if err != nil {
		return nil, err
	}
	return &Tokens{User: u, AccessToken: access, ExpiresIn: ttl, RefreshToken: refresh,
		RefreshExpiresIn: snap.Config.Auth.RefreshTokenTTL.Duration}, nil
}

var errBadCredentials = apperr.Unauthorized("invalid_credentials", "wrong username, email or password")

// Login signs a user in by username or email and password. Failures are throttled per account name and per
// client address.
func (a *Auth) Login(ctx context.Context, login, password string, client ClientInfo) (*Tokens, error) {
	login = strings.TrimSpace(login)
	var v apperr.Validation
	v.Check(login != "" && runes(login) <= MaxEmailLen, "login", "must be a username or an email address")
	v.Check(password != "" && runes(password) <= MaxPasswordLen, "password", "must be set (at most 128 characters)")
	if err := v.Err(); err != nil {
		return nil, err
	}
	accountKey, addrKey := "account:"+strings.ToLower(login), "addr:"+client.IP
	if until, err := a.store.LockedUntil(ctx, []string{accountKey, addrKey}); err != nil {
		return nil, err
	} else if !until.IsZero() {
		return nil, tooManyAttempts(until.Sub(a.now()))
	}
	u, err := a.store.UserByLogin(ctx, login)
	if err != nil && !errors.Is(err, apperr.ErrNotFound) {
		return nil, err
	}
	ok, rehash, err := a.verify(ctx, u, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, a.loginFailed(ctx, u, accountKey, addrKey, client)
	}
	if !u.IsActive {
		return nil, apperr.Forbidden("account_disabled", "this account is deactivated; ask an admin")
	}
	if err := a.store.ClearFailures(ctx, accountKey); err != nil {
		return nil, err
	}
	if rehash {
		a.rehash(ctx, u, password)
	}
	return a.startSession(ctx, u, client)
}

// verify checks password against u's hash; for an unknown user it spends the same time on a dummy hash, so
// that response times do not tell which accounts exist.
func (a *Auth) verify(ctx context.Context, u *model.User, password string) (ok, rehash bool, err error) {
	if u == nil {
		a.dummyOnce.Do(func() { a.dummyHash, _ = a.hasher.Hash(ctx, "not a password") })
		_, _, err := a.hasher.Verify(ctx, password, a.dummyHash)
		return false, false, err
	}
	ok, rehash, err = a.hasher.Verify(ctx, password, u.PasswordHash)
	if errors.Is(err, security.ErrMalformedHash) {
		a.log.ErrorContext(ctx, "Stored password hash is malformed", "user", u.ID)
		return false, false, nil
	}
	return ok, rehash, err
}

func (a *Auth) rehash(ctx context.Context, u *model.User, password string) {
	hash, err := a.hasher.Hash(ctx, password)
	if err == nil {
		err = a.store.RehashPassword(ctx, u.ID, u.PasswordHash, hash)
	}
	if err != nil {
		a.log.WarnContext(ctx, "Re-hashing a password with the current parameters failed", "user", u.ID, "error", err)
	}
}

func (a *Auth) loginFailed(ctx context.Context, u *model.User, accountKey, addrKey string, client ClientInfo) error {
	t := a.throttle
	e := model.AuditEntry{Action: model.AuditLoginFailed, TargetType: "user", ClientIP: client.IP}
	if u != nil {
		e.TargetID = u.ID
	}
	a.audit.record(ctx, e)
	lockedAccount, err := a.store.RecordFailure(ctx, accountKey, t.Window, t.AccountFailures, t.Lock)
	if err != nil {
		return err
	}
	lockedAddr, err := a.store.RecordFailure(ctx, addrKey, t.Window, t.AddressFailures, t.Lock)
	if err != nil {
		return err
	}
	if !lockedAccount.IsZero() || !lockedAddr.IsZero() {
		e.Action = model.AuditLoginThrottled
		e.Details = map[string]any{"account_locked": !lockedAccount.IsZero(), "address_locked": !lockedAddr.IsZero()}
		a.audit.record(ctx, e)
	}
	return errBadCredentials
}

func tooManyAttempts(wait time.Duration) error {
	if wait < time.Second {
		wait = time.Second
	}
	return apperr.TooManyRequests("too_many_attempts", "too many failed sign-ins; try again later", wait)
}

// Refresh rotates a refresh token: the old one is consumed and a new pair returned. A token presented twice
// revokes its session.
func (a *Auth) Refresh(ctx context.Context, token string, client ClientInfo) (*Tokens, error) {
	if token == "" || len(token) > 200 {
		return nil, errInvalidRefreshInput
	}
	refresh, hash, err := security.NewRefreshToken()
	if err != nil {
		return nil, err
	}
	r, err := a.store.RotateRefreshToken(ctx, security.HashToken(token), hash, a.settings().Config.Auth.RefreshTokenTTL.Duration)
	if err != nil {
		return nil, err
	}
	if r.Reused {
		a.cache.invalidateSession(r.SessionID)
		a.audit.record(ctx, model.AuditEntry{Action: model.AuditRefreshReuse, ActorID: &r.UserID, TargetType: "session",
			TargetID: r.SessionID, ClientIP: client.IP})
		return nil, apperr.Unauthorized("refresh_token_reused", "this refresh token was already used; the session has been ended for safety, sign in again")
	}
	u, err := a.store.UserByID(ctx, r.UserID)
	if err != nil {
		return nil, err
	}
	return a.tokens(u, r.SessionID, refresh)
}

var errInvalidRefreshInput = func() error {
	var v apperr.Validation
	v.Check(false, "refresh_token", "must be set (at most 200 characters)")
	return v.Err()
}()

// Logout ends the session a refresh token belongs to; its access tokens stop working at once.
func (a *Auth) Logout(ctx context.Context, token string) error {
	if token == "" || len(token) > 200 {
		return errInvalidRefreshInput
	}
	sid, _, err := a.store.RevokeSessionByToken(ctx, security.HashToken(token), "logout")
	if err != nil {
		return err
	}
	a.cache.invalidateSession(sid)
	return nil
}

var errBadToken = apperr.Unauthorized("invalid_token", "the access token is missing, invalid or expired")

// Authenticate checks an access token and returns its holder. The token must be valid, its session open and
// its user active; the role is the user's current one.
func (a *Auth) Authenticate(ctx context.Context, token string) (model.Principal, error) {
	now := a.now()
	userID, sessionID, ok := a.verified.verify(a.settings().JWTKey, token, now)
	if !ok {
		return model.Principal{}, errBadToken
	}
	st := a.cache.get(sessionID, userID, now)
	if st == nil {
		var err error
		st, err = a.store.AuthState(ctx, userID, sessionID)
		if errors.Is(err, apperr.ErrNotFound) {
			return model.Principal{}, errBadToken
		}
		if err != nil {
			return model.Principal{}, err
		}
		a.cache.put(sessionID, userID, st, now)
	}
	if !st.UserActive {
		return model.Principal{}, apperr.Unauthorized("account_disabled", "this account is deactivated")
	}
	if st.SessionRevoked {
		return model.Principal{}, apperr.Unauthorized("session_ended", "this session has ended; sign in again")
	}
	return model.Principal{UserID: userID, SessionID: sessionID, Username: st.Username, Role: st.Role}, nil
}

// ChangePassword sets a new password after checking the current one, and ends every other session.
func (a *Auth) ChangePassword(ctx context.Context, p model.Principal, current, next string, client ClientInfo) error {
	u, err := a.store.UserByID(ctx, p.UserID)
	if err != nil {
		return err
	}
	var v apperr.Validation
	v.Check(current != "" && runes(current) <= MaxPasswordLen, "current_password", "must be set")
	email := ""
	if u.Email != nil {
		email = *u.Email
	}
	checkPassword(&v, "new_password", next, u.Username, email)
	if err := v.Err(); err != nil {
		return err
	}
	key := "account:" + strings.ToLower(u.Username)
	if until, err := a.store.LockedUntil(ctx, []string{key}); err != nil {
		return err
	} else if !until.IsZero() {
		return tooManyAttempts(until.Sub(a.now()))
	}
	ok, _, err := a.verify(ctx, u, current)
	if err != nil {
		return err
	}
	if !ok {
		if _, err := a.store.RecordFailure(ctx, key, a.throttle.Window, a.throttle.AccountFailures, a.throttle.Lock); err != nil {
			return err
		}
		return apperr.Forbidden("wrong_password", "the current password is wrong")
	}
	hash, err := a.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	if err := a.store.SetPasswordHash(ctx, u.ID, hash, &p.SessionID); err != nil {
		return err
	}
	a.cache.invalidateUser(u.ID)
	e := actor(p, client, model.AuditPasswordChanged)
	e.TargetType, e.TargetID = "user", u.ID
	a.audit.record(ctx, e)
	return nil
}

// InvalidateUser drops cached session states of a user, after an admin changed it.
func (a *Auth) InvalidateUser(userID string) { a.cache.invalidateUser(userID) }

// Bootstrap creates the bootstrap admin when no user has its username. An existing user is left alone: its
// password may have been changed since.
func (a *Auth) Bootstrap(ctx context.Context, admin *settings.Admin) error {
	if admin == nil {
		return nil
	}
	if u, err := a.store.UserByLogin(ctx, admin.Username); err == nil {
		if u.Role != model.RoleAdmin || !u.IsActive {
			a.log.WarnContext(ctx, "The bootstrap admin's username belongs to a user who is not an active admin; leaving it alone",
				"username", u.Username)
		}
		return nil
	} else if !errors.Is(err, apperr.ErrNotFound) {
		return err
	}
	hash, err := a.hasher.Hash(ctx, admin.Password)
	if err != nil {
		return err
	}
	u := &model.User{Username: admin.Username, Role: model.RoleAdmin, PasswordHash: hash, DisplayName: "Administrator"}
	if admin.Email != "" {
		email := strings.ToLower(admin.Email)
		u.Email = &email
	}
	if err := a.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, apperr.ErrConflict) {
			return nil // another replica created it first
		}
		return err
	}
	a.audit.record(ctx, model.AuditEntry{Action: model.AuditAdminBootstrap, TargetType: "user", TargetID: u.ID,
		ActorUsername: "system"})
	a.log.InfoContext(ctx, "Created the bootstrap admin", "username", u.Username)
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// authCache keeps session states for authCacheTTL, so that a burst of requests costs one query per second
// per session.
type authCache struct {
	mu      sync.Mutex
	entries map[string]authEntry
}

type authEntry struct {
	userID string
	state  *model.AuthState
	at     time.Time
}

// maxAuthEntries bounds the cache; past it, the cache starts again empty.
const maxAuthEntries = 100000

func newAuthCache() *authCache { return &authCache{entries: map[string]authEntry{}} }

func (c *authCache) get(sessionID, userID string, now time.Time) *model.AuthState {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[sessionID]
	if !ok || e.userID != userID || now.Sub(e.at) >= authCacheTTL || now.Before(e.at) {
		return nil
	}
	return e.state
}

func (c *authCache) put(sessionID, userID string, st *model.AuthState, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxAuthEntries {
		c.entries = map[string]authEntry{}
	}
	c.entries[sessionID] = authEntry{userID: userID, state: st, at: now}
}

func (c *authCache) invalidateSession(sessionID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, sessionID)
}

func (c *authCache) invalidateUser(userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for sid, e := range c.entries {
		if e.userID == userID {
			delete(c.entries, sid)
		}
	}
}

// tokenCache remembers access tokens already verified under the current key, so that a token used again
// costs a map lookup instead of a JWT decode and an HMAC (about a tenth of a request's CPU). The expiry is
// still checked on every use, and a new signing key empties the cache.
type tokenCache struct {
	mu      sync.Mutex
	kid     string
	entries map[string]verifiedToken
}

type verifiedToken struct {
	userID, sessionID string
	expires           time.Time
}

// maxTokenEntries bounds the token cache; past it, the cache starts again empty.
const maxTokenEntries = 100000

func (c *tokenCache) verify(key []byte, token string, now time.Time) (userID, sessionID string, ok bool) {
	kid := security.KeyID(key)
	c.mu.Lock()
	if c.kid != kid {
		c.kid, c.entries = kid, map[string]verifiedToken{}
	}
	e, hit := c.entries[token]
	c.mu.Unlock()
	if hit {
		return e.userID, e.sessionID, now.Before(e.expires)
	}
	claims, err := security.ParseAccessToken(key, token, now)
	if err != nil {
		return "", "", false
	}
	c.mu.Lock()
	if c.kid == kid {
		if len(c.entries) >= maxTokenEntries {
			c.entries = map[string]verifiedToken{}
		}
		c.entries[token] = verifiedToken{userID: claims.Subject, sessionID: claims.SessionID, expires: claims.ExpiresAt.Time}
	}
	c.mu.Unlock()
	return claims.Subject, claims.SessionID, true
}
