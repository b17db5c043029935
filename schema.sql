-- Payambar schema, version 1: the baseline every database starts from.
-- Later changes are ordered migrations in store/migrations.py; this file never changes shape.
-- Ids are assigned by the single writer (store/writer.py), so the SQL stays the same on
-- SQLite and PostgreSQL. Times are milliseconds since the Unix epoch, UTC.

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    username_key TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    bio TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen BIGINT
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- status: 0 sent, 1 delivered, 2 read, 3 read across a block (still "delivered" to the sender). A deleted message keeps its row with empty text.
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    sender_id INTEGER NOT NULL,
    recipient_id INTEGER NOT NULL,
    client_id TEXT NOT NULL,
    text TEXT NOT NULL,
    reply_to INTEGER,
    created_at BIGINT NOT NULL,
    edited_at BIGINT,
    deleted SMALLINT NOT NULL DEFAULT 0,
    status SMALLINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX messages_by_client_id ON messages (sender_id, client_id);
CREATE INDEX messages_by_chat ON messages (sender_id, recipient_id, id);
CREATE INDEX messages_unread ON messages (recipient_id, sender_id) WHERE status < 2;

-- One row per side of a conversation, kept current by every send: the chat list reads
-- only this table, however long the history.
CREATE TABLE chats (
    user_id INTEGER NOT NULL,
    peer_id INTEGER NOT NULL,
    last_message_id INTEGER NOT NULL,
    PRIMARY KEY (user_id, peer_id)
);
CREATE INDEX chats_by_recency ON chats (user_id, last_message_id);

-- Each user's ordered update stream. kind: 1 message, 2 status, 3 read, 4 edit, 5 delete.
-- The payload is read from messages when served, so a row stays a few integers.
CREATE TABLE updates (
    user_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    kind SMALLINT NOT NULL,
    message_id INTEGER NOT NULL,
    peer_id INTEGER,
    PRIMARY KEY (user_id, seq)
);
