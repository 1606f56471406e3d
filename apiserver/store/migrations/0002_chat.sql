-- Chat: answers name the turn they answer, the pool key that served them and why they failed; users' own
-- provider keys (sealed); per-key request counts shared by every replica.

-- reply_to links an assistant turn to the user turn it answers: the history sent upstream is built from
-- these pairs, so a user turn whose call failed (or is still running) is never sent twice in a row.
ALTER TABLE messages
    ADD COLUMN reply_to   uuid REFERENCES messages (id) ON DELETE CASCADE,
    ADD COLUMN key_id     text NOT NULL DEFAULT '',
    ADD COLUMN error_code text NOT NULL DEFAULT '';
CREATE INDEX messages_reply_to_idx ON messages (reply_to) WHERE reply_to IS NOT NULL;

-- A user's own provider key. sealed is the key under AES-256-GCM (nonce || ciphertext), bound to the row's
-- user and id; encryption_key_id names the encryption key that sealed it, so the platform key can rotate.
CREATE TABLE provider_keys (
    id                uuid PRIMARY KEY,
    user_id           uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name              text NOT NULL,
    provider_type     text NOT NULL,
    base_url          text NOT NULL DEFAULT '',
    models            jsonb NOT NULL DEFAULT '[]',
    hint              text NOT NULL DEFAULT '',
    encryption_key_id text NOT NULL,
    sealed            bytea NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    last_used_at      timestamptz
);
CREATE UNIQUE INDEX provider_keys_user_name_key ON provider_keys (user_id, lower(name));
CREATE INDEX provider_keys_encryption_key_idx ON provider_keys (encryption_key_id);

-- Requests sent with each platform key in the current minute, for requestsPerMinute across replicas: one
-- row per key, reset when a new minute starts.
CREATE TABLE provider_key_minutes (
    key_id   text PRIMARY KEY,
    minute   timestamptz NOT NULL,
    requests integer NOT NULL
);
