-- Conversation statistics: the usage records of one conversation are found by conversation_id. Partial,
-- so that the records of /v1 calls (which have no conversation) cost nothing more to insert.
CREATE INDEX usage_records_conversation_idx ON usage_records (conversation_id) WHERE conversation_id IS NOT NULL;
