-- Accounts, sessions, login throttling, conversations, messages, tags and the audit log.

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username      text NOT NULL CHECK (length(username) BETWEEN 1 AND 100),
    email         text CHECK (email = lower(email)),
    display_name  text NOT NULL DEFAULT '',
    password_hash text NOT NULL,
    role          text NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user')),
    is_active     boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_list_idx ON users (created_at, id);
CREATE INDEX users_admins_idx ON users (id) WHERE role = 'admin' AND is_active;

-- A session is one login: the family of refresh tokens rotated from it.
CREATE TABLE sessions (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoke_reason text NOT NULL DEFAULT '',
    user_agent    text NOT NULL DEFAULT '',
    client_ip     text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- Refresh tokens are stored as SHA-256 hashes; used_at marks a rotated token, whose reuse revokes the session.
CREATE TABLE refresh_tokens (
    token_hash bytea PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

-- Failed logins per key ("account:<login>", "addr:<ip>"), shared by every replica.
CREATE TABLE login_throttle (
    key          text PRIMARY KEY,
    failures     integer NOT NULL,
    window_start timestamptz NOT NULL,
    locked_until timestamptz
);
CREATE INDEX login_throttle_window_idx ON login_throttle (window_start);

CREATE TABLE conversations (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title           text NOT NULL,
    model           text NOT NULL,
    system_prompt   text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    last_message_at timestamptz NOT NULL DEFAULT now(),
    message_count   integer NOT NULL DEFAULT 0,
    preview         text NOT NULL DEFAULT ''
);
CREATE INDEX conversations_user_activity_idx ON conversations (user_id, last_message_at DESC, id DESC);

CREATE TABLE messages (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq                  bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    conversation_id      uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id              uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role                 text NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content              text NOT NULL,
    model                text NOT NULL DEFAULT '',
    provider             text NOT NULL DEFAULT '',
    finish_reason        text NOT NULL DEFAULT '',
    prompt_tokens        bigint,
    cached_prompt_tokens bigint,
    completion_tokens    bigint,
    reasoning_tokens     bigint,
    cost_micros          bigint,
    estimated            boolean NOT NULL DEFAULT false,
    latency_ms           bigint,
    ttft_ms              bigint,
    created_at           timestamptz NOT NULL DEFAULT now(),
    search               tsvector GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED
);
CREATE INDEX messages_conversation_idx ON messages (conversation_id, seq);
CREATE INDEX messages_user_idx ON messages (user_id, seq DESC);
CREATE INDEX messages_search_idx ON messages USING gin (search);

CREATE TABLE tags (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       text NOT NULL,
    color      text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX tags_user_name_key ON tags (user_id, lower(name));
CREATE INDEX tags_list_idx ON tags (user_id, lower(name), id);

CREATE TABLE conversation_tags (
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    tag_id          uuid NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, tag_id)
);
CREATE INDEX conversation_tags_tag_idx ON conversation_tags (tag_id, conversation_id);

-- The audit log outlives the users it names: no foreign keys.
CREATE TABLE audit_log (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    action         text NOT NULL,
    actor_id       uuid,
    actor_username text NOT NULL DEFAULT '',
    target_type    text NOT NULL DEFAULT '',
    target_id      text NOT NULL DEFAULT '',
    client_ip      text NOT NULL DEFAULT '',
    details        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_action_idx ON audit_log (action, id DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id DESC);
