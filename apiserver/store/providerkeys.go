package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/model"
)

const providerKeyColumns = `id, user_id, name, provider_type, base_url, models, hint, encryption_key_id, sealed,
	created_at, updated_at, last_used_at`

func scanProviderKey(row pgx.Row) (*model.ProviderKey, error) {
	var k model.ProviderKey
	var models []byte
	err := row.Scan(&k.ID, &k.UserID, &k.Name, &k.ProviderType, &k.BaseURL, &models, &k.Hint, &k.EncryptionKeyID,
		&k.Sealed, &k.CreatedAt, &k.UpdatedAt, &k.LastUsedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.NotFound("provider key")
	}
	if err != nil {
		return nil, fmt.Errorf("reading provider key: %w", err)
	}
	if err := json.Unmarshal(models, &k.Models); err != nil {
		return nil, fmt.Errorf("reading provider key %s models: %w", k.ID, err)
	}
	if k.Models == nil {
		k.Models = []model.KeyModel{}
	}
	return &k, nil
}

// keyNameConflict turns a duplicate key name into a conflict error; ok is false for other errors.
func keyNameConflict(err error) (conflict error, ok bool) {
	if isUniqueViolation(err, "provider_keys_user_name_key") {
		return apperr.Conflict("key_name_taken", "you already have a key of this name"), true
	}
	return nil, false
}

// CreateProviderKey inserts k, whose ID the caller chose (the sealed key is bound to it), and fills its times.
func (db *DB) CreateProviderKey(ctx context.Context, k *model.ProviderKey) error {
	models, err := json.Marshal(k.Models)
	if err != nil {
		return err
	}
	err = db.pool.QueryRow(ctx, `INSERT INTO provider_keys (id, user_id, name, provider_type, base_url, models, hint,
			encryption_key_id, sealed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING created_at, updated_at`,
		k.ID, k.UserID, k.Name, k.ProviderType, k.BaseURL, models, k.Hint, k.EncryptionKeyID, k.Sealed).
		Scan(&k.CreatedAt, &k.UpdatedAt)
	if err != nil {
		if c, ok := keyNameConflict(err); ok {
			return c
		}
		return fmt.Errorf("creating provider key: %w", err)
	}
	return nil
}

// ProviderKey returns one of the user's keys.
func (db *DB) ProviderKey(ctx context.Context, userID, id string) (*model.ProviderKey, error) {
	return scanProviderKey(db.pool.QueryRow(ctx, `SELECT `+providerKeyColumns+` FROM provider_keys
		WHERE id = $1 AND user_id = $2`, id, userID))
}

// UseProviderKey returns one of the user's keys and records that it is used now (at most one write a minute).
func (db *DB) UseProviderKey(ctx context.Context, userID, id string) (*model.ProviderKey, error) {
	return scanProviderKey(db.pool.QueryRow(ctx, `WITH touched AS (
			UPDATE provider_keys SET last_used_at = now() WHERE id = $1 AND user_id = $2
			AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute'))
		SELECT `+providerKeyColumns+` FROM provider_keys WHERE id = $1 AND user_id = $2`, id, userID))
}

// ListProviderKeys returns the user's keys by name.
func (db *DB) ListProviderKeys(ctx context.Context, userID string) ([]model.ProviderKey, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+providerKeyColumns+` FROM provider_keys WHERE user_id = $1
		ORDER BY lower(name), id`, userID)
	if err != nil {
		return nil, fmt.Errorf("listing provider keys: %w", err)
	}
	keys, err := collect(rows, scanProviderKey)
	if keys == nil && err == nil {
		keys = []model.ProviderKey{}
	}
	return keys, err
}

// ProviderKeyUpdate holds the fields to change; nil leaves a field as it is. A new secret comes sealed, with
// its hint and the id of the encryption key that sealed it.
type ProviderKeyUpdate struct {
	Name            *string
	BaseURL         *string
	Models          []model.KeyModel
	Hint            *string
	EncryptionKeyID *string
	Sealed          []byte
}

// UpdateProviderKey changes one of the user's keys and returns it.
func (db *DB) UpdateProviderKey(ctx context.Context, userID, id string, u ProviderKeyUpdate) (*model.ProviderKey, error) {
	var models []byte
	if u.Models != nil {
		var err error
		if models, err = json.Marshal(u.Models); err != nil {
			return nil, err
		}
	}
	k, err := scanProviderKey(db.pool.QueryRow(ctx, `UPDATE provider_keys SET name = COALESCE($3, name),
			base_url = COALESCE($4, base_url), models = COALESCE($5, models), hint = COALESCE($6, hint),
			encryption_key_id = COALESCE($7, encryption_key_id), sealed = COALESCE($8, sealed), updated_at = now()
		WHERE id = $1 AND user_id = $2 RETURNING `+providerKeyColumns,
		id, userID, u.Name, u.BaseURL, models, u.Hint, u.EncryptionKeyID, u.Sealed))
	if c, ok := keyNameConflict(err); ok {
		return nil, c
	}
	return k, err
}

// ResealProviderKey replaces the sealed key if it is still sealed under oldKeyID (lazy re-encryption after an
// encryption key rotation; a concurrent update wins).
func (db *DB) ResealProviderKey(ctx context.Context, userID, id, oldKeyID, newKeyID string, sealed []byte) error {
	_, err := db.pool.Exec(ctx, `UPDATE provider_keys SET encryption_key_id = $4, sealed = $5
		WHERE id = $1 AND user_id = $2 AND encryption_key_id = $3`, id, userID, oldKeyID, newKeyID, sealed)
	if err != nil {
		return fmt.Errorf("re-sealing provider key: %w", err)
	}
	return nil
}

// DeleteProviderKey deletes one of the user's keys.
func (db *DB) DeleteProviderKey(ctx context.Context, userID, id string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM provider_keys WHERE id = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return fmt.Errorf("deleting provider key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return apperr.NotFound("provider key")
	}
	return nil
}
