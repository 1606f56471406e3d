package service

import (
	"github.com/llmplatform/llmplatform/apiserver/model"
	"github.com/llmplatform/llmplatform/apiserver/provider"
	"github.com/llmplatform/llmplatform/apiserver/store"
)

// Finish reasons the chat stores on assistant turns, besides the provider's (stop, length...).
const (
	// FinishStopped: the client went away or pressed stop; the partial answer is kept.
	FinishStopped = "stopped"
	// FinishError: the call failed; whatever arrived is kept for the user to see, never sent upstream again.
	FinishError = "error"
)

// pairs rebuilds the conversation history sent upstream from stored turns, oldest first. This is the
// orphan-turn rule: a user turn goes upstream only together with an answer to it (linked by reply_to) that
// did not fail and has text. A user turn whose call failed, was stopped before any text, or is still being
// answered is left out, so the history always alternates user/assistant and no provider sees two user turns
// in a row (Anthropic rejects that).
func pairs(turns []store.Turn) []provider.Message {
	answers := make(map[string]*store.Turn, len(turns)/2)
	for i := range turns {
		t := &turns[i]
		if t.Role == model.MessageRoleAssistant && t.ReplyTo != "" && t.FinishReason != FinishError && t.Content != "" {
			answers[t.ReplyTo] = t // a later answer to the same turn wins
		}
	}
	out := make([]provider.Message, 0, len(turns))
	for i := range turns {
		t := &turns[i]
		if t.Role != model.MessageRoleUser {
			continue
		}
		if a := answers[t.ID]; a != nil {
			out = append(out, provider.Message{Role: provider.RoleUser, Content: t.Content},
				provider.Message{Role: provider.RoleAssistant, Content: a.Content})
		}
	}
	return out
}

// Token estimates of a prompt's framing, as the provider package estimates prompts.
const (
	systemOverhead  = 3
	messageOverhead = 4
)

func messageTokens(m provider.Message) int64 {
	return provider.EstimateTokens(m.Content) + messageOverhead
}

// trim keeps the newest user/assistant pairs of history that fit the model's context window together with
// the system prompt, the new user turn and room for maxOutput tokens of answer. contextWindow 0 keeps
// everything. It returns the kept history and the estimated prompt size; fits is false when even the system
// prompt and the new turn alone do not fit.
func trim(history []provider.Message, system string, turn provider.Message, contextWindow, maxOutput int64) (kept []provider.Message, prompt int64, fits bool) {
	prompt = provider.EstimateTokens(system) + systemOverhead + messageTokens(turn)
	if contextWindow <= 0 {
		for _, m := range history {
			prompt += messageTokens(m)
		}
		return history, prompt, true
	}
	budget := contextWindow - maxOutput
	if prompt > budget {
		return nil, prompt, false
	}
	start := len(history)
	for i := len(history) - 2; i >= 0; i -= 2 { // whole pairs, newest first
		n := messageTokens(history[i]) + messageTokens(history[i+1])
		if prompt+n > budget {
			break
		}
		prompt += n
		start = i
	}
	return history[start:], prompt, true
}
