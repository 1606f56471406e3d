package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/model"
)

const userColumns = `id, username, email, display_name, password_hash, role, is_active, created_at, updated_at, last_login_at`

func scanUser(row pgx.Row) (*model.User, error) {
	var u model.User
	err := row.Scan(&u.ID, &u.Username, &u.Email, &u.DisplayName, &u.PasswordHash, &u.Role, &u.IsActive,
		&u.CreatedAt, &u.UpdatedAt, &u.LastLoginAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.NotFound("user")
	}
	if err != nil {
		return nil, fmt.Errorf("reading user: %w", err)
	}
	return &u, nil
}

// userConflict turns a unique violation on users into a conflict error, and returns other errors as they are.
func userConflict(err error) (error, bool) {
	switch {
	case isUniqueViolation(err, "users_username_key"):
		return apperr.Conflict("username_taken", "this username is already taken"), true
	case isUniqueViolation(err, "users_email_key"):
		return apperr.Conflict("email_taken", "this email address is already registered"), true
	}
	return err, false
}

// CreateUser inserts u and fills its ID and timestamps.
func (db *DB) CreateUser(ctx context.Context, u *model.User) error {
	err := db.pool.QueryRow(ctx, `INSERT INTO users (username, email, display_name, password_hash, role)
		VALUES ($1, $2, $3, $4, $5) RETURNING id, is_active, created_at, updated_at`,
		u.Username, u.Email, u.DisplayName, u.PasswordHash, u.Role).Scan(&u.ID, &u.IsActive, &u.CreatedAt, &u.UpdatedAt)
	if err != nil {
		if c, ok := userConflict(err); ok {
			return c
		}
		return fmt.Errorf("creating user: %w", err)
	}
	return nil
}

// UserByID returns a user.
func (db *DB) UserByID(ctx context.Context, id string) (*model.User, error) {
	return scanUser(db.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
}

// UserByLogin returns the user whose username (case-insensitively) or email is login.
func (db *DB) UserByLogin(ctx context.Context, login string) (*model.User, error) {
	return scanUser(db.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users
		WHERE lower(username) = lower($1) OR email = lower($1) ORDER BY (lower(username) = lower($1)) DESC LIMIT 1`, login))
}

// UpdateProfile changes the fields that are not nil.
func (db *DB) UpdateProfile(ctx context.Context, id string, email, displayName *string) (*model.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, `UPDATE users SET email = COALESCE($2, email),
		display_name = COALESCE($3, display_name), updated_at = now() WHERE id = $1 RETURNING `+userColumns,
		id, email, displayName))
	if err != nil {
		c, _ := userConflict(err)
		return nil, c
	}
	return u, nil
}

// SetPasswordHash stores a new hash. When keepSession is not empty, every other session of the user is
// revoked in the same transaction.
func (db *DB) SetPasswordHash(ctx context.Context, id, hash string, endSessionsExcept *string) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1`, id, hash); err != nil {
			return fmt.Errorf("storing password hash: %w", err)
		}
		if endSessionsExcept == nil {
			return nil
		}
		_, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = now(), revoke_reason = 'password_changed'
			WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL`, id, *endSessionsExcept)
		return err
	})
}

// RehashPassword replaces a hash only if it is still old, so a concurrent password change wins.
func (db *DB) RehashPassword(ctx context.Context, id, old, hash string) error {
	_, err := db.pool.Exec(ctx, `UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2`, id, old, hash)
	return err
}

// UserFilter narrows the admin's user list.
type UserFilter struct {
	Query  string
	Role   string
	Active *bool
}

// ListUsers returns users in creation order.
func (db *DB) ListUsers(ctx context.Context, f UserFilter, p model.PageRequest) (model.Page[model.User], error) {
	var after model.Cursor
	if p.After != nil {
		after = *p.After
	}
	q := "%" + escapeLike(strings.ToLower(f.Query)) + "%"
	rows, err := db.pool.Query(ctx, `SELECT `+userColumns+` FROM users
		WHERE ($1 = '%%' OR lower(username) LIKE $1 OR email LIKE $1 OR lower(display_name) LIKE $1)
		  AND ($2 = '' OR role = $2) AND ($3::boolean IS NULL OR is_active = $3)
		  AND ($4::uuid IS NULL OR (created_at, id) > ($5, $4::uuid))
		ORDER BY created_at, id LIMIT $6`, q, f.Role, f.Active, nullIfEmpty(after.ID), after.T, p.Limit+1)
	if err != nil {
		return model.Page[model.User]{}, fmt.Errorf("listing users: %w", err)
	}
	users, err := collect(rows, scanUser)
	if err != nil {
		return model.Page[model.User]{}, err
	}
	return model.NewPage(users, p.Limit, func(u model.User) model.Cursor { return model.Cursor{T: u.CreatedAt, ID: u.ID} }), nil
}

// lastAdminGuard fails with a conflict when id is the only active admin. It locks the active admins' rows
// so that two concurrent demotions cannot both pass.
func lastAdminGuard(ctx context.Context, tx pgx.Tx, id string) error {
	rows, err := tx.Query(ctx, `SELECT id FROM users WHERE role = 'admin' AND is_active ORDER BY id FOR UPDATE`)
	if err != nil {
		return fmt.Errorf("locking admins: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("locking admins: %w", err)
	}
	if len(ids) == 1 && ids[0] == id {
		return apperr.Conflict("last_admin", "this is the last active admin; make another user admin first")
	}
	return nil
}

// SetActive activates or deactivates a user. Deactivation revokes every session in the same transaction
// and refuses the last active admin.
func (db *DB) SetActive(ctx context.Context, id string, active bool) (*model.User, error) {
	var u *model.User
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if !active {
			if err := lastAdminGuard(ctx, tx, id); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = now(), revoke_reason = 'deactivated'
				WHERE user_id = $1 AND revoked_at IS NULL`, id); err != nil {
				return fmt.Errorf("revoking sessions: %w", err)
			}
		}
		var err error
		u, err = scanUser(tx.QueryRow(ctx, `UPDATE users SET is_active = $2, updated_at = now() WHERE id = $1
			RETURNING `+userColumns, id, active))
		return err
	})
	return u, err
}

// SetRole changes a user's role, refusing to demote the last active admin.
func (db *DB) SetRole(ctx context.Context, id, role string) (*model.User, error) {
	var u *model.User
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if role != model.RoleAdmin {
			if err := lastAdminGuard(ctx, tx, id); err != nil {
				return err
			}
		}
		var err error
		u, err = scanUser(tx.QueryRow(ctx, `UPDATE users SET role = $2, updated_at = now() WHERE id = $1
			RETURNING `+userColumns, id, role))
		return err
	})
	return u, err
}

// DeleteUser deletes a user and, by cascade, everything it owns; the last active admin is refused.
func (db *DB) DeleteUser(ctx context.Context, id string) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if err := lastAdminGuard(ctx, tx, id); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("deleting user: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return apperr.NotFound("user")
		}
		return nil
	})
}

// escapeLike escapes LIKE's wildcards in s.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// collect reads every row with scan.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (*T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading rows: %w", err)
	}
	return out, nil
}
