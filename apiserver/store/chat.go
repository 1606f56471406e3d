package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/model"
)

// ChatTarget is what sending to a conversation needs to know of it and of its owner.
type ChatTarget struct {
	ConversationID string
	Model          string
	SystemPrompt   string
	// Email is the owner's address (quotas may name users by it); empty when they have none.
	Email string
}

// ChatTarget returns the user's conversation and the user's email in one round trip.
func (db *DB) ChatTarget(ctx context.Context, userID, conversationID string) (*ChatTarget, error) {
	var t ChatTarget
	var email *string
	err := db.pool.QueryRow(ctx, `SELECT c.id, c.model, c.system_prompt, u.email FROM conversations c
		JOIN users u ON u.id = c.user_id WHERE c.id = $1 AND c.user_id = $2`, conversationID, userID).
		Scan(&t.ConversationID, &t.Model, &t.SystemPrompt, &email)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.NotFound("conversation")
	}
	if err != nil {
		return nil, fmt.Errorf("reading conversation: %w", err)
	}
	if email != nil {
		t.Email = *email
	}
	return &t, nil
}

// Turn is a message as the chat sees it: enough to rebuild the history sent upstream.
type Turn struct {
	ID           string
	Seq          int64
	Role         string
	Content      string
	FinishReason string
	// ReplyTo is the user turn an assistant turn answers; empty for user turns.
	ReplyTo string
}

// MaxHistory bounds how many of a conversation's latest messages are read to build the history sent
// upstream; the model's context window trims it further.
const MaxHistory = 2000

// History returns the latest messages of a conversation (at most MaxHistory), oldest first, stopping before
// the message with sequence number before (0: all). The caller checked ownership (ChatTarget).
func (db *DB) History(ctx context.Context, conversationID string, before int64) ([]Turn, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, seq, role, content, finish_reason, COALESCE(reply_to::text, '')
		FROM (SELECT * FROM messages WHERE conversation_id = $1 AND ($2 = 0 OR seq < $2) ORDER BY seq DESC LIMIT $3) m
		ORDER BY seq`, conversationID, before, MaxHistory)
	if err != nil {
		return nil, fmt.Errorf("reading history: %w", err)
	}
	return collect(rows, scanTurn)
}

func scanTurn(row pgx.Row) (*Turn, error) {
	var t Turn
	err := row.Scan(&t.ID, &t.Seq, &t.Role, &t.Content, &t.FinishReason, &t.ReplyTo)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.NotFound("message")
	}
	if err != nil {
		return nil, fmt.Errorf("reading message: %w", err)
	}
	return &t, nil
}

// Turn returns one message of the user's conversation.
func (db *DB) Turn(ctx context.Context, userID, conversationID, id string) (*Turn, error) {
	return scanTurn(db.pool.QueryRow(ctx, `SELECT id, seq, role, content, finish_reason, COALESCE(reply_to::text, '')
		FROM messages WHERE id = $1 AND conversation_id = $2 AND user_id = $3`, id, conversationID, userID))
}

// ChatMessage is a turn to store, with what only the chat records.
type ChatMessage struct {
	model.Message
	// ReplyTo is the user turn an assistant turn answers; empty for user turns.
	ReplyTo string
	// KeyID is the pool key that served an answer; ErrorCode why it failed.
	KeyID, ErrorCode string
}

// appendChatMessage inserts a message and updates its conversation's count, preview and activity time in
// one statement (one round trip, atomic). An answer is only stored while the turn it answers exists.
const appendChatMessage = `WITH ins AS (
	INSERT INTO messages (conversation_id, user_id, role, content, model, provider, finish_reason, prompt_tokens,
		cached_prompt_tokens, completion_tokens, reasoning_tokens, cost_micros, estimated, latency_ms, ttft_ms, reply_to,
		key_id, error_code)
	SELECT c.id, c.user_id, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16::uuid, $17, $18
	FROM conversations c
	WHERE c.id = $1 AND c.user_id = $2
	  AND ($16::uuid IS NULL OR EXISTS (SELECT 1 FROM messages u WHERE u.id = $16::uuid AND u.conversation_id = c.id))
	RETURNING id, seq, created_at, conversation_id, content
), upd AS (
	UPDATE conversations c SET message_count = c.message_count + 1, last_message_at = ins.created_at,
		preview = left(ins.content, $19)
	FROM ins WHERE c.id = ins.conversation_id
)
SELECT id, seq, created_at FROM ins`

// AppendChatMessage stores a turn of the user's conversation (m.Role says which) with its conversation's
// bookkeeping, in one round trip, and fills its ID, Seq and CreatedAt. The error is ErrNotFound when the
// conversation is gone or, for an answer, the turn it answers was deleted meanwhile (the user deleted from
// there, edited or regenerated).
func (db *DB) AppendChatMessage(ctx context.Context, userID string, cm *ChatMessage) error {
	m := &cm.Message
	var prompt, cached, completion, reasoning, cost *int64
	estimated := false
	if u := m.Usage; u != nil {
		prompt, cached, completion, reasoning, cost = &u.PromptTokens, &u.CachedPromptTokens, &u.CompletionTokens, &u.ReasoningTokens, &u.CostMicros
		estimated = u.Estimated
	}
	err := db.pool.QueryRow(ctx, appendChatMessage, m.ConversationID, userID, m.Role, m.Content, m.Model, m.Provider,
		m.FinishReason, prompt, cached, completion, reasoning, cost, estimated, m.LatencyMS, m.TTFTMS, nullIfEmpty(cm.ReplyTo),
		cm.KeyID, cm.ErrorCode, previewLen).Scan(&m.ID, &m.Seq, &m.CreatedAt)
	var pe *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows), errors.As(err, &pe) && pe.Code == "23503": // the answered turn just went
		return apperr.NotFound("message")
	case err != nil:
		return fmt.Errorf("storing message: %w", err)
	}
	return nil
}

// RewindTo drops every message after the user turn turnID of the user's conversation and, when content is not
// nil, replaces that turn's text (edit and resend). It returns the turn as it is now, with its stored times.
func (db *DB) RewindTo(ctx context.Context, userID, conversationID, turnID string, content *string) (*model.Message, error) {
	var out *model.Message
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var err error
		out, err = scanMessage(tx.QueryRow(ctx, `UPDATE messages m SET content = COALESCE($4, m.content)
			WHERE m.id = $1 AND m.conversation_id = $2 AND m.user_id = $3 AND m.role = 'user'
			RETURNING `+messageColumns, turnID, conversationID, userID, content))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM messages WHERE conversation_id = $1 AND seq > $2`, conversationID, out.Seq); err != nil {
			return fmt.Errorf("dropping later messages: %w", err)
		}
		return refreshConversation(ctx, tx, conversationID)
	})
	return out, err
}

// DeleteFrom deletes a message of the user's conversation and every later one. It returns the number deleted.
func (db *DB) DeleteFrom(ctx context.Context, userID, conversationID, id string) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM messages WHERE conversation_id = $2 AND seq >= (
			SELECT seq FROM messages WHERE id = $1 AND conversation_id = $2 AND user_id = $3)`, id, conversationID, userID)
		if err != nil {
			return fmt.Errorf("deleting messages: %w", err)
		}
		if n = tag.RowsAffected(); n == 0 {
			return apperr.NotFound("message")
		}
		return refreshConversation(ctx, tx, conversationID)
	})
	return n, err
}

// refreshConversation recomputes a conversation's message count and preview after messages were removed.
func refreshConversation(ctx context.Context, tx pgx.Tx, conversationID string) error {
	_, err := tx.Exec(ctx, `UPDATE conversations c SET
			message_count = (SELECT count(*) FROM messages WHERE conversation_id = c.id),
			preview = COALESCE((SELECT left(content, $2) FROM messages WHERE conversation_id = c.id ORDER BY seq DESC LIMIT 1), '')
		WHERE c.id = $1`, conversationID, previewLen)
	if err != nil {
		return fmt.Errorf("updating conversation: %w", err)
	}
	return nil
}

// stopChannel is the PostgreSQL notification channel on which stops reach every replica.
const stopChannel = "llmplatform_chat_stop"

// NotifyStop tells every replica listening (ListenStops) to stop the answers streaming in a conversation.
func (db *DB) NotifyStop(ctx context.Context, conversationID string) error {
	if _, err := db.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, stopChannel, conversationID); err != nil {
		return fmt.Errorf("notifying stop: %w", err)
	}
	return nil
}

// ListenStops calls stop with the conversation id of every NotifyStop, from any replica, until ctx ends. It
// holds one connection of the pool, and reconnects (after 1 s, backing off to 30 s) when it breaks; onError
// hears why. Stops notified while it was disconnected are lost: the replica that received the request also
// stops its own streams directly.
func (db *DB) ListenStops(ctx context.Context, stop func(conversationID string), onError func(error)) {
	delay := time.Second
	for ctx.Err() == nil {
		err := db.listen(ctx, stop)
		if ctx.Err() != nil {
			return
		}
		onError(err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, 30*time.Second)
	}
}

// listen runs one LISTEN session until it fails or ctx ends.
func (db *DB) listen(ctx context.Context, stop func(string)) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquiring a connection to listen for stops: %w", err)
	}
	// The session is LISTENing: never hand it back to the pool.
	pc := conn.Hijack()
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = pc.Close(cctx)
	}()
	if _, err := pc.Exec(ctx, "LISTEN "+stopChannel); err != nil {
		return fmt.Errorf("listening for stops: %w", err)
	}
	for {
		n, err := pc.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("waiting for stops: %w", err)
		}
		stop(n.Payload)
	}
}
