package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/model"
)

const conversationColumns = `c.id, c.user_id, c.title, c.model, c.system_prompt, c.created_at, c.updated_at,
	c.last_message_at, c.message_count, c.preview`

func scanConversation(row pgx.Row) (*model.Conversation, error) {
	var c model.Conversation
	err := row.Scan(&c.ID, &c.UserID, &c.Title, &c.Model, &c.SystemPrompt, &c.CreatedAt, &c.UpdatedAt,
		&c.LastMessageAt, &c.MessageCount, &c.Preview)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.NotFound("conversation")
	}
	if err != nil {
		return nil, fmt.Errorf("reading conversation: %w", err)
	}
	c.Tags = []model.Tag{}
	return &c, nil
}

// CreateConversation inserts c (owned by c.UserID) and attaches tagIDs, which must belong to the same user.
func (db *DB) CreateConversation(ctx context.Context, c *model.Conversation, tagIDs []string) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO conversations (user_id, title, model, system_prompt) VALUES ($1, $2, $3, $4)
			RETURNING id, created_at, updated_at, last_message_at`, c.UserID, c.Title, c.Model, c.SystemPrompt).
			Scan(&c.ID, &c.CreatedAt, &c.UpdatedAt, &c.LastMessageAt)
		if err != nil {
			return fmt.Errorf("creating conversation: %w", err)
		}
		if len(tagIDs) > 0 {
			tag, err := tx.Exec(ctx, `INSERT INTO conversation_tags (conversation_id, tag_id)
				SELECT $1, t.id FROM tags t WHERE t.user_id = $2 AND t.id = ANY($3::uuid[]) ON CONFLICT DO NOTHING`,
				c.ID, c.UserID, tagIDs)
			if err != nil {
				return fmt.Errorf("tagging conversation: %w", err)
			}
			if int(tag.RowsAffected()) != len(tagIDs) {
				return apperr.NotFound("tag")
			}
		}
		tags, err := tagsOf(ctx, tx, []string{c.ID})
		c.Tags = tags[c.ID]
		if c.Tags == nil {
			c.Tags = []model.Tag{}
		}
		return err
	})
}

// Conversation returns the user's conversation with its tags.
func (db *DB) Conversation(ctx context.Context, userID, id string) (*model.Conversation, error) {
	c, err := scanConversation(db.pool.QueryRow(ctx, `SELECT `+conversationColumns+` FROM conversations c
		WHERE c.id = $1 AND c.user_id = $2`, id, userID))
	if err != nil {
		return nil, err
	}
	tags, err := tagsOf(ctx, db.pool, []string{c.ID})
	if t := tags[c.ID]; t != nil {
		c.Tags = t
	}
	return c, err
}

// ConversationUpdate holds the fields to change; nil leaves a field as it is.
type ConversationUpdate struct {
	Title        *string
	Model        *string
	SystemPrompt *string
}

// UpdateConversation changes the user's conversation.
func (db *DB) UpdateConversation(ctx context.Context, userID, id string, u ConversationUpdate) (*model.Conversation, error) {
	_, err := scanConversation(db.pool.QueryRow(ctx, `UPDATE conversations c SET title = COALESCE($3, title),
		model = COALESCE($4, model), system_prompt = COALESCE($5, system_prompt), updated_at = now()
		WHERE c.id = $1 AND c.user_id = $2 RETURNING `+conversationColumns, id, userID, u.Title, u.Model, u.SystemPrompt))
	if err != nil {
		return nil, err
	}
	return db.Conversation(ctx, userID, id)
}

// DeleteConversation deletes the user's conversation and its messages.
func (db *DB) DeleteConversation(ctx context.Context, userID, id string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM conversations WHERE id = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return fmt.Errorf("deleting conversation: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return apperr.NotFound("conversation")
	}
	return nil
}

// ListConversations returns the user's conversations, most recent activity first; tagID, when set, keeps
// only those with that tag.
func (db *DB) ListConversations(ctx context.Context, userID, tagID string, p model.PageRequest) (model.Page[model.Conversation], error) {
	var after model.Cursor
	if p.After != nil {
		after = *p.After
	}
	rows, err := db.pool.Query(ctx, `SELECT `+conversationColumns+` FROM conversations c
		WHERE c.user_id = $1
		  AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM conversation_tags ct WHERE ct.conversation_id = c.id AND ct.tag_id = $2::uuid))
		  AND ($3::uuid IS NULL OR (c.last_message_at, c.id) < ($4, $3::uuid))
		ORDER BY c.last_message_at DESC, c.id DESC LIMIT $5`, userID, nullIfEmpty(tagID), nullIfEmpty(after.ID), after.T, p.Limit+1)
	if err != nil {
		return model.Page[model.Conversation]{}, fmt.Errorf("listing conversations: %w", err)
	}
	convs, err := collect(rows, scanConversation)
	if err != nil {
		return model.Page[model.Conversation]{}, err
	}
	page := model.NewPage(convs, p.Limit, func(c model.Conversation) model.Cursor {
		return model.Cursor{T: c.LastMessageAt, ID: c.ID}
	})
	ids := make([]string, len(page.Items))
	for i, c := range page.Items {
		ids[i] = c.ID
	}
	tags, err := tagsOf(ctx, db.pool, ids)
	for i := range page.Items {
		if t := tags[page.Items[i].ID]; t != nil {
			page.Items[i].Tags = t
		}
	}
	return page, err
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// tagsOf returns the tags of each conversation, by name.
func tagsOf(ctx context.Context, q querier, ids []string) (map[string][]model.Tag, error) {
	out := map[string][]model.Tag{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT ct.conversation_id, t.id, t.name, t.color, t.created_at, t.updated_at
		FROM conversation_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.conversation_id = ANY($1::uuid[])
		ORDER BY lower(t.name), t.id`, ids)
	if err != nil {
		return nil, fmt.Errorf("reading conversation tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var conv string
		var t model.Tag
		if err := rows.Scan(&conv, &t.ID, &t.Name, &t.Color, &t.CreatedAt, &t.UpdatedAt); err != nil {
			return nil, fmt.Errorf("reading conversation tags: %w", err)
		}
		out[conv] = append(out[conv], t)
	}
	return out, rows.Err()
}

const messageColumns = `m.id, m.seq, m.conversation_id, m.role, m.content, m.model, m.provider, m.finish_reason,
	m.prompt_tokens, m.cached_prompt_tokens, m.completion_tokens, m.reasoning_tokens, m.cost_micros, m.estimated,
	m.latency_ms, m.ttft_ms, m.created_at`

func scanMessage(row pgx.Row) (*model.Message, error) {
	var m model.Message
	var prompt, cached, completion, reasoning, cost *int64
	var estimated bool
	err := row.Scan(&m.ID, &m.Seq, &m.ConversationID, &m.Role, &m.Content, &m.Model, &m.Provider, &m.FinishReason,
		&prompt, &cached, &completion, &reasoning, &cost, &estimated, &m.LatencyMS, &m.TTFTMS, &m.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.NotFound("message")
	}
	if err != nil {
		return nil, fmt.Errorf("reading message: %w", err)
	}
	if prompt != nil || completion != nil || cost != nil {
		m.Usage = &model.Usage{PromptTokens: deref(prompt), CachedPromptTokens: deref(cached),
			CompletionTokens: deref(completion), ReasoningTokens: deref(reasoning), CostMicros: deref(cost), Estimated: estimated}
	}
	return &m, nil
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// previewLen is how many characters of the latest message a conversation keeps as its preview.
const previewLen = 200

// AppendMessage stores m in the user's conversation and updates the conversation's message count, preview
// and activity time in the same transaction. It fills m's ID, Seq and CreatedAt.
func (db *DB) AppendMessage(ctx context.Context, userID string, m *model.Message) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var prompt, cached, completion, reasoning, cost *int64
		estimated := false
		if u := m.Usage; u != nil {
			prompt, cached, completion, reasoning, cost = &u.PromptTokens, &u.CachedPromptTokens, &u.CompletionTokens, &u.ReasoningTokens, &u.CostMicros
			estimated = u.Estimated
		}
		err := tx.QueryRow(ctx, `INSERT INTO messages (conversation_id, user_id, role, content, model, provider,
				finish_reason, prompt_tokens, cached_prompt_tokens, completion_tokens, reasoning_tokens, cost_micros,
				estimated, latency_ms, ttft_ms)
			SELECT c.id, c.user_id, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15
			FROM conversations c WHERE c.id = $1 AND c.user_id = $2
			RETURNING id, seq, created_at`, m.ConversationID, userID, m.Role, m.Content, m.Model, m.Provider,
			m.FinishReason, prompt, cached, completion, reasoning, cost, estimated, m.LatencyMS, m.TTFTMS).
			Scan(&m.ID, &m.Seq, &m.CreatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return apperr.NotFound("conversation")
		}
		if err != nil {
			return fmt.Errorf("storing message: %w", err)
		}
		_, err = tx.Exec(ctx, `UPDATE conversations SET message_count = message_count + 1, last_message_at = $2,
			preview = left($3, $4) WHERE id = $1`, m.ConversationID, m.CreatedAt, m.Content, previewLen)
		return err
	})
}

// ListMessages returns the messages of the user's conversation, oldest first.
func (db *DB) ListMessages(ctx context.Context, userID, conversationID string, p model.PageRequest) (model.Page[model.Message], error) {
	if err := db.ownsConversation(ctx, userID, conversationID); err != nil {
		return model.Page[model.Message]{}, err
	}
	var after int64
	if p.After != nil {
		after = p.After.N
	}
	rows, err := db.pool.Query(ctx, `SELECT `+messageColumns+` FROM messages m
		WHERE m.conversation_id = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3`, conversationID, after, p.Limit+1)
	if err != nil {
		return model.Page[model.Message]{}, fmt.Errorf("listing messages: %w", err)
	}
	msgs, err := collect(rows, scanMessage)
	if err != nil {
		return model.Page[model.Message]{}, err
	}
	return model.NewPage(msgs, p.Limit, func(m model.Message) model.Cursor { return model.Cursor{N: m.Seq} }), nil
}

// AllMessages returns every message of the user's conversation, oldest first (for export).
func (db *DB) AllMessages(ctx context.Context, userID, conversationID string) ([]model.Message, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+messageColumns+` FROM messages m
		WHERE m.conversation_id = $1 AND m.user_id = $2 ORDER BY m.seq`, conversationID, userID)
	if err != nil {
		return nil, fmt.Errorf("reading messages: %w", err)
	}
	return collect(rows, scanMessage)
}

func (db *DB) ownsConversation(ctx context.Context, userID, id string) error {
	var ok bool
	err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM conversations WHERE id = $1 AND user_id = $2)`, id, userID).Scan(&ok)
	if err != nil {
		return fmt.Errorf("reading conversation: %w", err)
	}
	if !ok {
		return apperr.NotFound("conversation")
	}
	return nil
}

// SearchQuery is a full-text search over one user's messages.
type SearchQuery struct {
	UserID         string
	ConversationID string
	// Words is web-search syntax for PostgreSQL's full-text search; used when Substring is empty.
	Words string
	// Substring, when set, is matched case-insensitively instead (for scripts without spaces, such as CJK).
	Substring string
}

// SearchMessages returns matching messages, newest first.
func (db *DB) SearchMessages(ctx context.Context, q SearchQuery, p model.PageRequest) (model.Page[model.SearchHit], error) {
	var before *int64
	if p.After != nil {
		before = &p.After.N
	}
	like := "%" + escapeLike(q.Substring) + "%"
	rows, err := db.pool.Query(ctx, `SELECT m.id, m.seq, m.conversation_id, c.title, m.role, m.content, m.created_at
		FROM messages m JOIN conversations c ON c.id = m.conversation_id
		WHERE m.user_id = $1 AND ($2::uuid IS NULL OR m.conversation_id = $2::uuid)
		  AND CASE WHEN $3 = '' THEN m.search @@ websearch_to_tsquery('simple', $4) ELSE m.content ILIKE $5 END
		  AND ($6::bigint IS NULL OR m.seq < $6)
		ORDER BY m.seq DESC LIMIT $7`, q.UserID, nullIfEmpty(q.ConversationID), q.Substring, q.Words, like, before, p.Limit+1)
	if err != nil {
		return model.Page[model.SearchHit]{}, fmt.Errorf("searching messages: %w", err)
	}
	hits, err := collect(rows, func(r pgx.Row) (*model.SearchHit, error) {
		var h model.SearchHit
		err := r.Scan(&h.MessageID, &h.Seq, &h.ConversationID, &h.ConversationTitle, &h.Role, &h.Content, &h.CreatedAt)
		return &h, err
	})
	if err != nil {
		return model.Page[model.SearchHit]{}, err
	}
	return model.NewPage(hits, p.Limit, func(h model.SearchHit) model.Cursor { return model.Cursor{N: h.Seq} }), nil
}
