package service

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
	"github.com/llmplatform/llmplatform/apiserver/model"
	"github.com/llmplatform/llmplatform/apiserver/store"
)

// ConversationStore is what the conversation service needs from the database. Every method takes the
// caller's user id and acts only on that user's rows.
type ConversationStore interface {
	CreateConversation(ctx context.Context, c *model.Conversation, tagIDs []string) error
	Conversation(ctx context.Context, userID, id string) (*model.Conversation, error)
	UpdateConversation(ctx context.Context, userID, id string, u store.ConversationUpdate) (*model.Conversation, error)
	DeleteConversation(ctx context.Context, userID, id string) error
	ListConversations(ctx context.Context, userID, tagID string, p model.PageRequest) (model.Page[model.Conversation], error)
	ListMessages(ctx context.Context, userID, conversationID string, p model.PageRequest) (model.Page[model.Message], error)
	AllMessages(ctx context.Context, userID, conversationID string) ([]model.Message, error)
	ConversationStats(ctx context.Context, userID, id string) (*model.ConversationStats, error)
	SearchMessages(ctx context.Context, q store.SearchQuery, p model.PageRequest) (model.Page[model.SearchHit], error)
	Tag(ctx context.Context, userID, id string) (*model.Tag, error)
	CreateTag(ctx context.Context, userID, name, color string) (*model.Tag, error)
	UpdateTag(ctx context.Context, userID, id string, name, color *string) (*model.Tag, error)
	DeleteTag(ctx context.Context, userID, id string) error
	ListTags(ctx context.Context, userID string, p model.PageRequest) (model.Page[model.Tag], error)
	SetConversationTag(ctx context.Context, userID, conversationID, tagID string, attach bool) error
}

// Conversations is the storage side of chats: conversations, their messages, tags, search and export.
type Conversations struct {
	store ConversationStore
	now   func() time.Time
}

// NewConversations returns the conversation service.
func NewConversations(st ConversationStore) *Conversations {
	return &Conversations{store: st, now: time.Now}
}

// DefaultTitle names a conversation created without a title.
const DefaultTitle = "New conversation"

// CreateConversationInput is a new conversation.
type CreateConversationInput struct {
	Title        string
	Model        string
	SystemPrompt string
	TagIDs       []string
}

func checkTitle(v *apperr.Validation, title string) {
	v.Check(title != "" && runes(title) <= MaxTitleLen && !hasControl(title), "title", "must be 1 to 200 characters, without control characters")
}

func checkModel(v *apperr.Validation, m string) {
	v.Check(m != "" && runes(m) <= MaxModelLen && !hasControl(m) && !strings.ContainsAny(m, " \t"), "model", "must be a model id (1 to 200 characters, no spaces)")
}

func checkSystemPrompt(v *apperr.Validation, s string) {
	v.Check(runes(s) <= MaxSystemPrompt, "system_prompt", "must be at most 100000 characters")
}

// Create creates a conversation for the caller.
func (s *Conversations) Create(ctx context.Context, p model.Principal, in CreateConversationInput) (*model.Conversation, error) {
	in.Title = strings.TrimSpace(in.Title)
	if in.Title == "" {
		in.Title = DefaultTitle
	}
	var v apperr.Validation
	checkTitle(&v, in.Title)
	checkModel(&v, in.Model)
	checkSystemPrompt(&v, in.SystemPrompt)
	v.Check(len(in.TagIDs) <= MaxTagsPerCreate, "tag_ids", "must list at most 50 tags")
	if err := v.Err(); err != nil {
		return nil, err
	}
	c := &model.Conversation{UserID: p.UserID, Title: in.Title, Model: in.Model, SystemPrompt: in.SystemPrompt}
	if err := s.store.CreateConversation(ctx, c, dedupe(in.TagIDs)); err != nil {
		return nil, err
	}
	return c, nil
}

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Get returns one of the caller's conversations.
func (s *Conversations) Get(ctx context.Context, p model.Principal, id string) (*model.Conversation, error) {
	return s.store.Conversation(ctx, p.UserID, id)
}

// Update renames a conversation, changes its model or edits its system prompt.
func (s *Conversations) Update(ctx context.Context, p model.Principal, id string, u store.ConversationUpdate) (*model.Conversation, error) {
	var v apperr.Validation
	if u.Title != nil {
		t := strings.TrimSpace(*u.Title)
		checkTitle(&v, t)
		u.Title = &t
	}
	if u.Model != nil {
		checkModel(&v, *u.Model)
	}
	if u.SystemPrompt != nil {
		checkSystemPrompt(&v, *u.SystemPrompt)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.store.UpdateConversation(ctx, p.UserID, id, u)
}

// Delete deletes one of the caller's conversations.
func (s *Conversations) Delete(ctx context.Context, p model.Principal, id string) error {
	return s.store.DeleteConversation(ctx, p.UserID, id)
}

// List returns the caller's conversations, most recent activity first; tagID keeps those with that tag.
func (s *Conversations) List(ctx context.Context, p model.Principal, tagID string, page model.PageRequest) (model.Page[model.Conversation], error) {
	if tagID != "" {
		if _, err := s.store.Tag(ctx, p.UserID, tagID); err != nil {
			return model.Page[model.Conversation]{}, err
		}
	}
	return s.store.ListConversations(ctx, p.UserID, tagID, page)
}

// Messages returns a conversation's messages, oldest first.
func (s *Conversations) Messages(ctx context.Context, p model.Principal, id string, page model.PageRequest) (model.Page[model.Message], error) {
	return s.store.ListMessages(ctx, p.UserID, id, page)
}

// snippetRadius is how many characters a search snippet keeps on each side of the match.
const snippetRadius = 100

// Search finds the caller's messages matching q, newest first.
func (s *Conversations) Search(ctx context.Context, p model.Principal, q, conversationID string, page model.PageRequest) (model.Page[model.SearchHit], error) {
	q = strings.TrimSpace(q)
	var v apperr.Validation
	v.Check(q != "" && runes(q) <= MaxSearchLen, "q", "must be 1 to 200 characters")
	if err := v.Err(); err != nil {
		return model.Page[model.SearchHit]{}, err
	}
	sq := store.SearchQuery{UserID: p.UserID, ConversationID: conversationID, Words: q}
	if hasUnspacedScript(q) {
		sq.Substring = q
	}
	res, err := s.store.SearchMessages(ctx, sq, page)
	if err != nil {
		return res, err
	}
	terms := searchTerms(q, sq.Substring != "")
	for i := range res.Items {
		res.Items[i].Snippet = snippet(res.Items[i].Content, terms)
	}
	return res, nil
}

// hasUnspacedScript reports whether s has characters of scripts written without spaces between words, which
// full-text search cannot split into words.
func hasUnspacedScript(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Thai) {
			return true
		}
	}
	return false
}

// searchTerms returns the words of a query, without web-search operators.
func searchTerms(q string, substring bool) []string {
	if substring {
		return []string{q}
	}
	var terms []string
	for _, f := range strings.FieldsFunc(q, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) }) {
		if !strings.EqualFold(f, "or") {
			terms = append(terms, f)
		}
	}
	return terms
}

// snippet cuts content around the first term found (case-insensitively), or returns its start.
func snippet(content string, terms []string) string {
	r := []rune(content)
	lower := []rune(strings.ToLower(content))
	at := -1
	if len(lower) == len(r) {
		for _, t := range terms {
			if i := indexRunes(lower, []rune(strings.ToLower(t))); i >= 0 && (at < 0 || i < at) {
				at = i
			}
		}
	}
	start := max(0, at-snippetRadius)
	end := min(len(r), max(at, 0)+snippetRadius*2)
	out := string(r[start:end])
	if start > 0 {
		out = "…" + out
	}
	if end < len(r) {
		out += "…"
	}
	return out
}

func indexRunes(s, sub []rune) int {
	if len(sub) == 0 {
		return -1
	}
	for i := 0; i+len(sub) <= len(s); i++ {
		if string(s[i:i+len(sub)]) == string(sub) {
			return i
		}
	}
	return -1
}

// Stats returns the statistics of one of the caller's conversations: messages by role, the usage stored
// with its answers and the usage records of its calls.
func (s *Conversations) Stats(ctx context.Context, p model.Principal, id string) (*model.ConversationStats, error) {
	return s.store.ConversationStats(ctx, p.UserID, id)
}

// Export is a conversation with all its messages and its statistics.
type Export struct {
	Conversation *model.Conversation      `json:"conversation"`
	Messages     []model.Message          `json:"messages"`
	Stats        *model.ConversationStats `json:"stats"`
	ExportedAt   time.Time                `json:"exported_at"`
}

// Export returns a conversation, all its messages and its statistics.
func (s *Conversations) Export(ctx context.Context, p model.Principal, id string) (*Export, error) {
	c, err := s.store.Conversation(ctx, p.UserID, id)
	if err != nil {
		return nil, err
	}
	msgs, err := s.store.AllMessages(ctx, p.UserID, id)
	if err != nil {
		return nil, err
	}
	if msgs == nil {
		msgs = []model.Message{}
	}
	stats, err := s.store.ConversationStats(ctx, p.UserID, id)
	if err != nil {
		return nil, err
	}
	return &Export{Conversation: c, Messages: msgs, Stats: stats, ExportedAt: s.now().UTC()}, nil
}

// Markdown renders an export as a Markdown document.
func (e *Export) Markdown() string {
	var b strings.Builder
	c := e.Conversation
	fmt.Fprintf(&b, "# %s\n\n", oneLine(c.Title))
	fmt.Fprintf(&b, "- Model: %s\n- Created: %s\n", c.Model, c.CreatedAt.UTC().Format(time.RFC3339))
	if len(c.Tags) > 0 {
		names := make([]string, len(c.Tags))
		for i, t := range c.Tags {
			names[i] = t.Name
		}
		fmt.Fprintf(&b, "- Tags: %s\n", strings.Join(names, ", "))
	}
	fmt.Fprintf(&b, "- Exported: %s\n", e.ExportedAt.Format(time.RFC3339))
	if st := e.Stats; st != nil {
		m, a := st.Messages, st.Answers
		fmt.Fprintf(&b, "- Statistics: %d messages (%d user, %d assistant); answers %d tokens (%d prompt, %d completion), USD %s; %d calls, USD %s\n",
			m.Total, m.User, m.Assistant, a.TotalTokens, a.PromptTokens, a.CompletionTokens, a.CostUSD, st.Calls.Requests, st.Calls.CostUSD)
	}
	if c.SystemPrompt != "" {
		fmt.Fprintf(&b, "\n## System prompt\n\n%s\n", c.SystemPrompt)
	}
	for _, m := range e.Messages {
		fmt.Fprintf(&b, "\n## %s", roleTitle(m.Role))
		if m.Model != "" {
			fmt.Fprintf(&b, " (%s)", m.Model)
		}
		fmt.Fprintf(&b, " · %s\n\n%s\n", m.CreatedAt.UTC().Format(time.RFC3339), m.Content)
	}
	return b.String()
}

func roleTitle(role string) string {
	switch role {
	case model.MessageRoleUser:
		return "User"
	case model.MessageRoleAssistant:
		return "Assistant"
	}
	return "System"
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// CreateTag creates a tag for the caller.
func (s *Conversations) CreateTag(ctx context.Context, p model.Principal, name, color string) (*model.Tag, error) {
	name = strings.TrimSpace(name)
	var v apperr.Validation
	checkTag(&v, &name, &color)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.store.CreateTag(ctx, p.UserID, name, color)
}

func checkTag(v *apperr.Validation, name, color *string) {
	if name != nil {
		*name = strings.TrimSpace(*name)
		v.Check(*name != "" && runes(*name) <= MaxTagNameLen && !hasControl(*name), "name", "must be 1 to 50 characters, without control characters")
	}
	if color != nil {
		v.Check(colorRE.MatchString(*color), "color", "must be #rrggbb or empty")
	}
}

// Tag returns one of the caller's tags.
func (s *Conversations) Tag(ctx context.Context, p model.Principal, id string) (*model.Tag, error) {
	return s.store.Tag(ctx, p.UserID, id)
}

// UpdateTag renames or recolours one of the caller's tags.
func (s *Conversations) UpdateTag(ctx context.Context, p model.Principal, id string, name, color *string) (*model.Tag, error) {
	var v apperr.Validation
	checkTag(&v, name, color)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.store.UpdateTag(ctx, p.UserID, id, name, color)
}

// DeleteTag deletes one of the caller's tags; its conversations stay.
func (s *Conversations) DeleteTag(ctx context.Context, p model.Principal, id string) error {
	return s.store.DeleteTag(ctx, p.UserID, id)
}

// Tags returns the caller's tags by name.
func (s *Conversations) Tags(ctx context.Context, p model.Principal, page model.PageRequest) (model.Page[model.Tag], error) {
	return s.store.ListTags(ctx, p.UserID, page)
}

// SetTag attaches or detaches a tag.
func (s *Conversations) SetTag(ctx context.Context, p model.Principal, conversationID, tagID string, attach bool) error {
	return s.store.SetConversationTag(ctx, p.UserID, conversationID, tagID, attach)
}
