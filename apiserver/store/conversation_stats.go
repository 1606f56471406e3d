package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/model"
)

// ConversationStats sums the user's conversation: its messages by role and their stored usage, and the
// usage records of its calls (found through usage_records_conversation_idx), in one statement. The outcomes
// counted as refused and failed are those of the daily rollups.
func (db *DB) ConversationStats(ctx context.Context, userID, id string) (*model.ConversationStats, error) {
	s := model.ConversationStats{ConversationID: id}
	m, a, u := &s.Messages, &s.Answers, &s.Calls
	err := db.pool.QueryRow(ctx, `SELECT m.total, m.users, m.assistants, m.systems, m.prompt, m.cached, m.completion,
			m.reasoning, m.cost, m.estimated, r.requests, r.refused, r.failed, r.prompt, r.cached, r.completion,
			r.reasoning, r.cost, least(m.first_at, r.first_at), greatest(m.last_at, r.last_at)
		FROM conversations c
		CROSS JOIN LATERAL (SELECT count(*) AS total, count(*) FILTER (WHERE role = 'user') AS users,
				count(*) FILTER (WHERE role = 'assistant') AS assistants, count(*) FILTER (WHERE role = 'system') AS systems,
				coalesce(sum(prompt_tokens), 0) AS prompt, coalesce(sum(cached_prompt_tokens), 0) AS cached,
				coalesce(sum(completion_tokens), 0) AS completion, coalesce(sum(reasoning_tokens), 0) AS reasoning,
				coalesce(sum(cost_micros), 0) AS cost, count(*) FILTER (WHERE estimated) AS estimated,
				min(created_at) AS first_at, max(created_at) AS last_at
			FROM messages WHERE conversation_id = c.id) m
		CROSS JOIN LATERAL (SELECT count(*) AS requests, count(*) FILTER (WHERE outcome = 'refused') AS refused,
				count(*) FILTER (WHERE outcome IN ('upstream_error', 'error')) AS failed,
				coalesce(sum(prompt_tokens), 0) AS prompt, coalesce(sum(cached_tokens), 0) AS cached,
				coalesce(sum(completion_tokens), 0) AS completion, coalesce(sum(reasoning_tokens), 0) AS reasoning,
				coalesce(sum(cost_micros), 0) AS cost, min(started_at) AS first_at, max(started_at) AS last_at
			FROM usage_records WHERE conversation_id = c.id AND user_id = c.user_id) r
		WHERE c.id = $1 AND c.user_id = $2`, id, userID).
		Scan(append(append([]any{&m.Total, &m.User, &m.Assistant, &m.System, &a.PromptTokens, &a.CachedPromptTokens,
			&a.CompletionTokens, &a.ReasoningTokens, &a.CostMicros, &a.Estimated}, totalsDest(u)...),
			&s.FirstActivityAt, &s.LastActivityAt)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.NotFound("conversation")
	}
	if err != nil {
		return nil, fmt.Errorf("reading conversation statistics: %w", err)
	}
	a.Finish()
	u.Finish()
	return &s, nil
}
