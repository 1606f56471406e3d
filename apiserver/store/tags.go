package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/model"
)

func scanTag(row pgx.Row) (*model.Tag, error) {
	var t model.Tag
	err := row.Scan(&t.ID, &t.Name, &t.Color, &t.CreatedAt, &t.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.NotFound("tag")
	}
	if err != nil {
		if isUniqueViolation(err, "tags_user_name_key") {
			return nil, apperr.Conflict("tag_exists", "a tag with this name already exists")
		}
		return nil, fmt.Errorf("reading tag: %w", err)
	}
	return &t, nil
}

// CreateTag creates a tag for the user.
func (db *DB) CreateTag(ctx context.Context, userID, name, color string) (*model.Tag, error) {
	return scanTag(db.pool.QueryRow(ctx, `INSERT INTO tags (user_id, name, color) VALUES ($1, $2, $3)
		RETURNING id, name, color, created_at, updated_at`, userID, name, color))
}

// Tag returns the user's tag.
func (db *DB) Tag(ctx context.Context, userID, id string) (*model.Tag, error) {
	return scanTag(db.pool.QueryRow(ctx, `SELECT id, name, color, created_at, updated_at FROM tags
		WHERE id = $1 AND user_id = $2`, id, userID))
}

// UpdateTag renames or recolours the user's tag; nil leaves a field as it is.
func (db *DB) UpdateTag(ctx context.Context, userID, id string, name, color *string) (*model.Tag, error) {
	return scanTag(db.pool.QueryRow(ctx, `UPDATE tags SET name = COALESCE($3, name), color = COALESCE($4, color),
		updated_at = now() WHERE id = $1 AND user_id = $2 RETURNING id, name, color, created_at, updated_at`,
		id, userID, name, color))
}

// DeleteTag deletes the user's tag.
func (db *DB) DeleteTag(ctx context.Context, userID, id string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM tags WHERE id = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return fmt.Errorf("deleting tag: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return apperr.NotFound("tag")
	}
	return nil
}

// ListTags returns the user's tags by name.
func (db *DB) ListTags(ctx context.Context, userID string, p model.PageRequest) (model.Page[model.Tag], error) {
	var after model.Cursor
	if p.After != nil {
		after = *p.After
	}
	rows, err := db.pool.Query(ctx, `SELECT id, name, color, created_at, updated_at, lower(name) FROM tags
		WHERE user_id = $1 AND ($2::uuid IS NULL OR (lower(name), id) > ($3, $2::uuid))
		ORDER BY lower(name), id LIMIT $4`, userID, nullIfEmpty(after.ID), after.S, p.Limit+1)
	if err != nil {
		return model.Page[model.Tag]{}, fmt.Errorf("listing tags: %w", err)
	}
	// The cursor keeps the database's lower(name), which may differ from Go's for some letters.
	sortKey := map[string]string{}
	tags, err := collect(rows, func(r pgx.Row) (*model.Tag, error) {
		var t model.Tag
		var key string
		if err := r.Scan(&t.ID, &t.Name, &t.Color, &t.CreatedAt, &t.UpdatedAt, &key); err != nil {
			return nil, fmt.Errorf("reading tag: %w", err)
		}
		sortKey[t.ID] = key
		return &t, nil
	})
	if err != nil {
		return model.Page[model.Tag]{}, err
	}
	return model.NewPage(tags, p.Limit, func(t model.Tag) model.Cursor {
		return model.Cursor{S: sortKey[t.ID], ID: t.ID}
	}), nil
}

// SetConversationTag attaches (attach true) or detaches a tag; both must belong to the user. Both are
// idempotent.
func (db *DB) SetConversationTag(ctx context.Context, userID, conversationID, tagID string, attach bool) error {
	if err := db.ownsConversation(ctx, userID, conversationID); err != nil {
		return err
	}
	if _, err := db.Tag(ctx, userID, tagID); err != nil {
		return err
	}
	sql := `DELETE FROM conversation_tags WHERE conversation_id = $1 AND tag_id = $2`
	if attach {
		sql = `INSERT INTO conversation_tags (conversation_id, tag_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`
	}
	if _, err := db.pool.Exec(ctx, sql, conversationID, tagID); err != nil {
		return fmt.Errorf("changing conversation tags: %w", err)
	}
	return nil
}
