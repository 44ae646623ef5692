"""SQLite schema, as ordered migrations (index + 1 = schema version)."""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE events (
        position    INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id    TEXT    NOT NULL UNIQUE,
        stream_type TEXT    NOT NULL,
        stream_id   TEXT    NOT NULL,
        version     INTEGER NOT NULL CHECK (version >= 1),
        event_type  TEXT    NOT NULL,
        recorded_at TEXT    NOT NULL,
        entry       BLOB    NOT NULL,
        event_hash  BLOB    NOT NULL CHECK (length(event_hash) = 32),
        CONSTRAINT events_stream_version UNIQUE (stream_id, version)
    );
    CREATE INDEX events_stream_type_idx ON events (stream_type, version);
    -- DESIGN.md: the database itself refuses to rewrite history.
    CREATE TRIGGER events_reject_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
    CREATE TRIGGER events_reject_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
    CREATE TABLE log_queue (
        position INTEGER PRIMARY KEY REFERENCES events (position)
    );
    CREATE TABLE idempotency (
        key          TEXT PRIMARY KEY,
        request_hash BLOB NOT NULL,
        response     BLOB NOT NULL
    );
    """,
    """
    CREATE TABLE log_entries (
        idx        INTEGER PRIMARY KEY CHECK (idx >= 0),
        position   INTEGER NOT NULL UNIQUE REFERENCES events (position),
        event_hash BLOB    NOT NULL CHECK (length(event_hash) = 32)
    );
    CREATE INDEX log_entries_hash_idx ON log_entries (event_hash);
    CREATE TABLE log_hashes (
        idx  INTEGER PRIMARY KEY CHECK (idx >= 0),
        hash BLOB    NOT NULL CHECK (length(hash) = 32)
    );
    CREATE TABLE log_tiles (
        level INTEGER NOT NULL,
        n     INTEGER NOT NULL,
        width INTEGER NOT NULL CHECK (width BETWEEN 1 AND 256),
        data  BLOB    NOT NULL,
        PRIMARY KEY (level, n)
    );
    CREATE TABLE checkpoints (
        size      INTEGER PRIMARY KEY CHECK (size >= 0),
        root      BLOB    NOT NULL,
        note      BLOB    NOT NULL,
        signed_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE TRIGGER log_entries_reject_update BEFORE UPDATE ON log_entries
    BEGIN SELECT RAISE(ABORT, 'log entries are append-only'); END;
    CREATE TRIGGER log_entries_reject_delete BEFORE DELETE ON log_entries
    BEGIN SELECT RAISE(ABORT, 'log entries are append-only'); END;
    CREATE TRIGGER log_hashes_reject_update BEFORE UPDATE ON log_hashes
    BEGIN SELECT RAISE(ABORT, 'log hashes are append-only'); END;
    CREATE TRIGGER log_hashes_reject_delete BEFORE DELETE ON log_hashes
    BEGIN SELECT RAISE(ABORT, 'log hashes are append-only'); END;
    CREATE TRIGGER checkpoints_reject_update BEFORE UPDATE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
    CREATE TRIGGER checkpoints_reject_delete BEFORE DELETE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
    """,
    """
    CREATE TABLE principals (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL,
        roles      TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE TABLE tokens (
        token_hash   BLOB PRIMARY KEY,
        principal_id TEXT NOT NULL REFERENCES principals (id),
        label        TEXT NOT NULL,
        created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        revoked      BOOLEAN NOT NULL DEFAULT FALSE
    );
    CREATE INDEX tokens_principal_idx ON tokens (principal_id);
    CREATE TABLE principal_keys (
        key_id       TEXT PRIMARY KEY,
        principal_id TEXT NOT NULL REFERENCES principals (id),
        public_key   BLOB NOT NULL,
        created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    """,
    """
    -- The log's identity (DESIGN.md: one signing key never signs two logs): a random id drawn
    -- once, when this database is created, and the verifier keys that have signed its log.
    CREATE TABLE log_meta (
        single INTEGER PRIMARY KEY CHECK (single = 1),
        log_id TEXT    NOT NULL CHECK (length(log_id) = 32)
    );
    INSERT INTO log_meta (single, log_id) VALUES (1, lower(hex(randomblob(16))));
    CREATE TABLE log_keys (
        vkey     TEXT PRIMARY KEY,
        added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE TRIGGER log_meta_reject_update BEFORE UPDATE ON log_meta
    BEGIN SELECT RAISE(ABORT, 'the log identity is append-only'); END;
    CREATE TRIGGER log_meta_reject_delete BEFORE DELETE ON log_meta
    BEGIN SELECT RAISE(ABORT, 'the log identity is append-only'); END;
    CREATE TRIGGER log_keys_reject_update BEFORE UPDATE ON log_keys
    BEGIN SELECT RAISE(ABORT, 'log keys are append-only'); END;
    CREATE TRIGGER log_keys_reject_delete BEFORE DELETE ON log_keys
    BEGIN SELECT RAISE(ABORT, 'log keys are append-only'); END;
    """,
    # Access that ends: principals can be deactivated, tokens expire and have a non-secret id,
    # keys can be revoked, and every such act is recorded in an append-only history. Tokens of
    # before this migration get a random id and expire DEFAULT_TOKEN_TTL after their creation.
    """
    ALTER TABLE principals ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;
    ALTER TABLE tokens ADD COLUMN token_id TEXT;
    ALTER TABLE tokens ADD COLUMN expires_at TEXT;
    UPDATE tokens SET token_id = lower(hex(randomblob(8))),
        -- never sooner than 30 days after the upgrade: nobody is locked out by it
        expires_at = max(strftime('%Y-%m-%dT%H:%M:%f', created_at, '+90 days'),
                         strftime('%Y-%m-%dT%H:%M:%f', 'now', '+30 days')) || '000Z';
    CREATE UNIQUE INDEX tokens_token_id_idx ON tokens (token_id);
    ALTER TABLE principal_keys ADD COLUMN revoked BOOLEAN NOT NULL DEFAULT FALSE;
    CREATE INDEX principal_keys_principal_idx ON principal_keys (principal_id);
    CREATE TABLE principal_history (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        principal_id TEXT NOT NULL REFERENCES principals (id),
        action       TEXT NOT NULL CHECK (action IN ('token_issued', 'token_revoked',
                         'principal_deactivated', 'key_registered', 'key_revoked')),
        subject      TEXT,
        actor_id     TEXT NOT NULL,
        actor_role   TEXT NOT NULL,
        at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE INDEX principal_history_principal_idx ON principal_history (principal_id, seq);
    CREATE TRIGGER principal_history_reject_update BEFORE UPDATE ON principal_history
    BEGIN SELECT RAISE(ABORT, 'principal history is append-only'); END;
    CREATE TRIGGER principal_history_reject_delete BEFORE DELETE ON principal_history
    BEGIN SELECT RAISE(ABORT, 'principal history is append-only'); END;
    """,
    """
    -- Read models (ledger.store.projection_port): where each projection stands in the log.
    CREATE TABLE projection_state (
        name       TEXT    PRIMARY KEY,
        position   INTEGER NOT NULL CHECK (position >= 0),
        generation INTEGER NOT NULL CHECK (generation >= 1),
        error      TEXT,
        updated_at TEXT    NOT NULL
    );
    """,
    """
    -- Outbound webhooks (ledger.webhooks): subscriptions per event type, the outbox the
    -- "webhooks" projection fills from the log (one row per subscription and event, in the
    -- projection's own transaction), and the log of every delivery attempt.
    CREATE TABLE webhook_subscriptions (
        id              TEXT    PRIMARY KEY,
        url             TEXT    NOT NULL,
        format          TEXT    NOT NULL
                        CHECK (format IN ('json', 'dingtalk', 'wecom', 'feishu')),
        event_types     TEXT    NOT NULL,
        description     TEXT    NOT NULL,
        secret          TEXT,
        previous_secret TEXT,
        previous_until  TEXT,
        active          INTEGER NOT NULL,
        from_index      BIGINT  NOT NULL,
        created_by      TEXT    NOT NULL,
        created_at      TEXT    NOT NULL,
        disabled_at     TEXT,
        disabled_reason TEXT
    );
    CREATE TABLE webhook_outbox (
        id              TEXT    PRIMARY KEY,
        subscription_id TEXT    NOT NULL REFERENCES webhook_subscriptions (id),
        event_id        TEXT    NOT NULL,
        event_type      TEXT    NOT NULL,
        log_index       BIGINT  NOT NULL,
        ordering_key    TEXT    NOT NULL,
        body            TEXT    NOT NULL,
        status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        failures        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT    NOT NULL,
        leased_until    TEXT,
        last_error      TEXT,
        last_status     INTEGER,
        created_at      TEXT    NOT NULL,
        delivered_at    TEXT,
        UNIQUE (subscription_id, event_id)
    );
    CREATE INDEX webhook_outbox_queue_idx
        ON webhook_outbox (subscription_id, ordering_key, status, log_index);
    CREATE INDEX webhook_outbox_due_idx ON webhook_outbox (status, next_attempt_at);
    CREATE TABLE webhook_attempts (
        outbox_id   TEXT    NOT NULL REFERENCES webhook_outbox (id),
        attempt     INTEGER NOT NULL,
        at          TEXT    NOT NULL,
        status_code INTEGER,
        duration_ms INTEGER NOT NULL,
        outcome     TEXT    NOT NULL CHECK (outcome IN ('delivered', 'failed', 'refused')),
        error       TEXT,
        PRIMARY KEY (outbox_id, attempt)
    );
    """,
    """
    -- Web console sessions (ledger.sessions): only the secret's hash is stored; sign-out
    -- deletes the row, expired rows are deleted as new sessions start. A session started
    -- with a token lives only while that token does (token_hash; NULL for a one-time link).
    CREATE TABLE console_sessions (
        session_hash BLOB    PRIMARY KEY CHECK (length(session_hash) = 32),
        principal_id TEXT    NOT NULL REFERENCES principals (id),
        role         TEXT    NOT NULL,
        token_hash   BLOB    REFERENCES tokens (token_hash),
        method       TEXT    NOT NULL CHECK (method IN ('token', 'link')),
        created_at   TEXT    NOT NULL,
        last_seen_at TEXT    NOT NULL,
        expires_at   TEXT    NOT NULL
    );
    CREATE INDEX console_sessions_principal_idx ON console_sessions (principal_id);
    CREATE INDEX console_sessions_expiry_idx ON console_sessions (expires_at);
    """,
    # One-time sign-in links (ledger.sign_in_link): only the secret's hash is kept; a link is
    # spent by the UPDATE that marks it used. The history learns three more acts, so its table
    # is rebuilt with the wider CHECK (SQLite cannot alter one); DROP TABLE fires no trigger.
    """
    CREATE TABLE sign_in_links (
        link_id         TEXT    PRIMARY KEY,
        link_hash       BLOB    NOT NULL UNIQUE,
        principal_id    TEXT    NOT NULL REFERENCES principals (id),
        departure_id    TEXT,
        issued_by       TEXT    NOT NULL,
        issued_role     TEXT    NOT NULL,
        issued_at       TEXT    NOT NULL,
        expires_at      TEXT    NOT NULL CHECK (expires_at > issued_at),
        used_at         TEXT,
        used_ip         TEXT,
        used_user_agent TEXT,
        revoked         BOOLEAN NOT NULL DEFAULT FALSE
    );
    CREATE INDEX sign_in_links_principal_idx ON sign_in_links (principal_id, issued_at);
    CREATE TABLE principal_history_wider (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        principal_id TEXT NOT NULL REFERENCES principals (id),
        action       TEXT NOT NULL CHECK (action IN ('token_issued', 'token_revoked',
                         'principal_deactivated', 'key_registered', 'key_revoked',
                         'sign_in_link_issued', 'sign_in_link_used', 'sign_in_link_revoked')),
        subject      TEXT,
        actor_id     TEXT NOT NULL,
        actor_role   TEXT NOT NULL,
        at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    INSERT INTO principal_history_wider SELECT * FROM principal_history;
    DROP TABLE principal_history;
    ALTER TABLE principal_history_wider RENAME TO principal_history;
    CREATE INDEX principal_history_principal_idx ON principal_history (principal_id, seq);
    CREATE TRIGGER principal_history_reject_update BEFORE UPDATE ON principal_history
    BEGIN SELECT RAISE(ABORT, 'principal history is append-only'); END;
    CREATE TRIGGER principal_history_reject_delete BEFORE DELETE ON principal_history
    BEGIN SELECT RAISE(ABORT, 'principal history is append-only'); END;
    """,
    # How a signing key was registered (ledger.principals.KEY_METHODS): a key registered
    # from a session a one-time link opened would let whoever followed the link sign as its
    # principal, so only token sign-ins register keys, and the history says which.
    """
    ALTER TABLE principal_history ADD COLUMN method TEXT;
    """,
    # RFC 3161 timestamp responses over checkpoints (ledger.timestamp): each as the
    # authority sent it, beside the checkpoint whose signed note it covers; append-only.
    """
    CREATE TABLE checkpoint_timestamps (
        size        INTEGER NOT NULL REFERENCES checkpoints (size),
        tsa_url     TEXT    NOT NULL,
        gen_time    TEXT    NOT NULL,
        response    BLOB    NOT NULL,
        recorded_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        PRIMARY KEY (size, tsa_url)
    );
    CREATE TRIGGER checkpoint_timestamps_reject_update BEFORE UPDATE ON checkpoint_timestamps
    BEGIN SELECT RAISE(ABORT, 'checkpoint timestamps are append-only'); END;
    CREATE TRIGGER checkpoint_timestamps_reject_delete BEFORE DELETE ON checkpoint_timestamps
    BEGIN SELECT RAISE(ABORT, 'checkpoint timestamps are append-only'); END;
    """,
    # Witness cosignatures (C2SP tlog-cosignature) of signed checkpoints, one line per witness
    # key and checkpoint, append-only like the checkpoints (ledger.witness.submitter).
    """
    CREATE TABLE checkpoint_cosignatures (
        size        INTEGER NOT NULL REFERENCES checkpoints (size),
        witness     TEXT    NOT NULL,
        line        TEXT    NOT NULL,
        received_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        PRIMARY KEY (size, witness)
    );
    CREATE TRIGGER checkpoint_cosignatures_reject_update BEFORE UPDATE ON checkpoint_cosignatures
    BEGIN SELECT RAISE(ABORT, 'cosignatures are append-only'); END;
    CREATE TRIGGER checkpoint_cosignatures_reject_delete BEFORE DELETE ON checkpoint_cosignatures
    BEGIN SELECT RAISE(ABORT, 'cosignatures are append-only'); END;
    """,
    # Failed authentications (api.ratelimit), so the limit holds across every process of a
    # deployment: one row per failure under its client key (an address, never a secret),
    # deleted once its window has passed.
    """
    CREATE TABLE auth_failures (
        client    TEXT NOT NULL,
        failed_at REAL NOT NULL
    );
    CREATE INDEX auth_failures_client_idx ON auth_failures (client, failed_at);
    CREATE INDEX auth_failures_time_idx ON auth_failures (failed_at);
    """,
)
