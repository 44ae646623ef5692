"""PostgreSQL schema, as ordered migrations (index + 1 = schema version)."""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE events (
        position    BIGSERIAL   PRIMARY KEY,
        event_id    UUID        NOT NULL UNIQUE,
        stream_type TEXT        NOT NULL,
        stream_id   UUID        NOT NULL,
        version     INTEGER     NOT NULL CHECK (version >= 1),
        event_type  TEXT        NOT NULL,
        recorded_at TIMESTAMPTZ NOT NULL,
        entry       BYTEA       NOT NULL,
        event_hash  BYTEA       NOT NULL CHECK (octet_length(event_hash) = 32),
        CONSTRAINT events_stream_version UNIQUE (stream_id, version)
    );
    CREATE INDEX events_stream_type_idx ON events (stream_type) WHERE version = 1;
    -- DESIGN.md: the database itself refuses to rewrite history.
    CREATE FUNCTION ledger_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'events are append-only (% refused)', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END $$;
    CREATE TRIGGER events_reject_update BEFORE UPDATE OR DELETE ON events
        FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
    CREATE TRIGGER events_reject_truncate BEFORE TRUNCATE ON events
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
    CREATE TABLE log_queue (
        position BIGINT PRIMARY KEY REFERENCES events (position)
    );
    CREATE TABLE idempotency (
        key          TEXT        PRIMARY KEY,
        request_hash BYTEA       NOT NULL,
        response     BYTEA       NOT NULL,
        created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    """,
    """
    CREATE TABLE log_entries (
        idx        BIGINT PRIMARY KEY CHECK (idx >= 0),
        position   BIGINT NOT NULL UNIQUE REFERENCES events (position),
        event_hash BYTEA  NOT NULL CHECK (octet_length(event_hash) = 32)
    );
    CREATE INDEX log_entries_hash_idx ON log_entries (event_hash);
    CREATE TABLE log_hashes (
        idx  BIGINT PRIMARY KEY CHECK (idx >= 0),
        hash BYTEA  NOT NULL CHECK (octet_length(hash) = 32)
    );
    CREATE TABLE log_tiles (
        level INTEGER NOT NULL,
        n     BIGINT  NOT NULL,
        width INTEGER NOT NULL CHECK (width BETWEEN 1 AND 256),
        data  BYTEA   NOT NULL,
        PRIMARY KEY (level, n)
    );
    CREATE TABLE checkpoints (
        size      BIGINT PRIMARY KEY CHECK (size >= 0),
        root      BYTEA  NOT NULL,
        note      BYTEA  NOT NULL,
        signed_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TRIGGER log_entries_reject_change BEFORE UPDATE OR DELETE ON log_entries
        FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
    CREATE TRIGGER log_hashes_reject_change BEFORE UPDATE OR DELETE ON log_hashes
        FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
    CREATE TRIGGER checkpoints_reject_change BEFORE UPDATE OR DELETE ON checkpoints
        FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
    CREATE TRIGGER log_reject_truncate BEFORE TRUNCATE ON log_entries
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
    CREATE TRIGGER log_hashes_reject_truncate BEFORE TRUNCATE ON log_hashes
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
    CREATE TRIGGER checkpoints_reject_truncate BEFORE TRUNCATE ON checkpoints
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
    """,
    """
    CREATE TABLE principals (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL,
        roles      TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE tokens (
        token_hash   BYTEA PRIMARY KEY,
        principal_id TEXT NOT NULL REFERENCES principals (id),
        label        TEXT NOT NULL,
        created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
        revoked      BOOLEAN NOT NULL DEFAULT FALSE
    );
    CREATE INDEX tokens_principal_idx ON tokens (principal_id);
    CREATE TABLE principal_keys (
        key_id       TEXT PRIMARY KEY,
        principal_id TEXT NOT NULL REFERENCES principals (id),
        public_key   BYTEA NOT NULL,
        created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
    );
        """,
    # 4: the append as one function (one round trip), so that read dependencies are sound
    # under READ COMMITTED and group commit (see ledger/store/postgres_batch.py). A plain
    # statement cannot do it: two appends could each check the other's stream before either
    # commits (write skew). Here each append first takes transaction-level advisory locks in
    # the one global order the caller sorted them in (so no two appends deadlock): exclusive on
    # every stream it appends to, shared on every stream it depends on. Then, the function
    # being VOLATILE, each statement below takes a fresh snapshot, so the dependency check sees
    # every append that held a conflicting lock before us, and none can commit after it until
    # we do. A dependency that moved, or that another command of the same batch appends to,
    # raises SQLSTATE HL409 ("a stream this command read has changed").
    """
    CREATE FUNCTION ledger_append(
        ids uuid[], stream_types text[], stream_ids uuid[], versions int[], event_types text[],
        recorded timestamptz[], entries bytea[], hashes bytea[],
        idem_keys text[], idem_hashes bytea[], idem_responses bytea[],
        lock_high int[], lock_low int[], lock_exclusive boolean[], dep_ids uuid[],
        dep_versions int[])
    RETURNS TABLE (appended_id uuid, appended_position bigint)
    LANGUAGE plpgsql VOLATILE AS $$
    BEGIN
        PERFORM CASE WHEN l.exclusive THEN pg_advisory_xact_lock(l.high, l.low)
                     ELSE pg_advisory_xact_lock_shared(l.high, l.low) END
        FROM unnest(lock_high, lock_low, lock_exclusive) WITH ORDINALITY
             AS l(high, low, exclusive, n)
        ORDER BY l.n;
        IF EXISTS (
            SELECT 1 FROM unnest(dep_ids, dep_versions) AS d(id, v)
            WHERE d.id = ANY(stream_ids)
               OR coalesce((SELECT max(e.version) FROM events e WHERE e.stream_id = d.id), 0)
                  <> d.v
        ) THEN
            RAISE EXCEPTION 'a stream this command decided on has changed since it was read'
                USING ERRCODE = 'HL409';
        END IF;
        RETURN QUERY
        WITH ins AS (
            INSERT INTO events (event_id, stream_type, stream_id, version, event_type,
                                recorded_at, entry, event_hash)
            SELECT * FROM unnest(ids, stream_types, stream_ids, versions, event_types,
                                 recorded, entries, hashes)
            RETURNING events.event_id, events.position
        ), queued AS (
            INSERT INTO log_queue (position) SELECT ins.position FROM ins
        ), idem AS (
            INSERT INTO idempotency (key, request_hash, response)
            SELECT * FROM unnest(idem_keys, idem_hashes, idem_responses)
        )
        SELECT ins.event_id, ins.position FROM ins;
    END $$;
    """,
    """
    -- The log's identity (DESIGN.md: one signing key never signs two logs): a random id drawn
    -- once, when this database is created, and the verifier keys that have signed its log.
    CREATE TABLE log_meta (
        single INTEGER PRIMARY KEY CHECK (single = 1),
        log_id TEXT    NOT NULL CHECK (length(log_id) = 32)
    );
    INSERT INTO log_meta (single, log_id)
        VALUES (1, replace(gen_random_uuid()::text, '-', ''));
    CREATE TABLE log_keys (
        vkey     TEXT        PRIMARY KEY,
        added_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TRIGGER log_meta_reject_change BEFORE UPDATE OR DELETE ON log_meta
        FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
    CREATE TRIGGER log_keys_reject_change BEFORE UPDATE OR DELETE ON log_keys
        FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
    CREATE TRIGGER log_meta_reject_truncate BEFORE TRUNCATE ON log_meta
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
    CREATE TRIGGER log_keys_reject_truncate BEFORE TRUNCATE ON log_keys
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
    """,
    # Access that ends: principals can be deactivated, tokens expire and have a non-secret id,
    # keys can be revoked, and every such act is recorded in an append-only history. Tokens of
    # before this migration get a random id and expire DEFAULT_TOKEN_TTL after their creation.
    """
    ALTER TABLE principals ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;
    ALTER TABLE tokens ADD COLUMN token_id TEXT;
    ALTER TABLE tokens ADD COLUMN expires_at TIMESTAMPTZ;
    UPDATE tokens SET token_id = substr(md5(gen_random_uuid()::text), 1, 16),
        -- never sooner than 30 days after the upgrade: nobody is locked out by it
        expires_at = greatest(created_at + interval '90 days', now() + interval '30 days');
    ALTER TABLE tokens ALTER COLUMN token_id SET NOT NULL;
    ALTER TABLE tokens ALTER COLUMN expires_at SET NOT NULL;
    CREATE UNIQUE INDEX tokens_token_id_idx ON tokens (token_id);
    ALTER TABLE principal_keys ADD COLUMN revoked BOOLEAN NOT NULL DEFAULT FALSE;
    CREATE INDEX principal_keys_principal_idx ON principal_keys (principal_id);
    CREATE TABLE principal_history (
        seq          BIGSERIAL PRIMARY KEY,
        principal_id TEXT NOT NULL REFERENCES principals (id),
        action       TEXT NOT NULL CHECK (action IN ('token_issued', 'token_revoked',
                         'principal_deactivated', 'key_registered', 'key_revoked')),
        subject      TEXT,
        actor_id     TEXT NOT NULL,
        actor_role   TEXT NOT NULL,
        at           TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE INDEX principal_history_principal_idx ON principal_history (principal_id, seq);
    CREATE FUNCTION ledger_reject_history_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'principal history is append-only (% refused)', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END $$;
    CREATE TRIGGER principal_history_reject_change BEFORE UPDATE OR DELETE ON principal_history
        FOR EACH ROW EXECUTE FUNCTION ledger_reject_history_change();
    CREATE TRIGGER principal_history_reject_truncate BEFORE TRUNCATE ON principal_history
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_history_change();
    """,
    """
    CREATE TABLE blobs (
        sha256     TEXT        PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        size       BIGINT      NOT NULL CHECK (size >= 0),
        chunks     INTEGER     NOT NULL CHECK (chunks >= 0),
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE blob_chunks (
        sha256 TEXT    NOT NULL REFERENCES blobs (sha256),
        n      INTEGER NOT NULL CHECK (n >= 0),
        data   BYTEA   NOT NULL,
        PRIMARY KEY (sha256, n)
    );
    -- Attachments are evidence: like the events, they are never rewritten.
    CREATE TRIGGER blobs_reject_change BEFORE UPDATE OR DELETE ON blobs
        FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
    CREATE TRIGGER blob_chunks_reject_change BEFORE UPDATE OR DELETE ON blob_chunks
        FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
    CREATE TRIGGER blobs_reject_truncate BEFORE TRUNCATE ON blobs
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
    CREATE TRIGGER blob_chunks_reject_truncate BEFORE TRUNCATE ON blob_chunks
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
    """,
    """
    -- Read models (ledger.store.projection_port): where each projection stands in the log.
    CREATE TABLE projection_state (
        name       TEXT    PRIMARY KEY,
        position   BIGINT  NOT NULL CHECK (position >= 0),
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
        session_hash BYTEA       PRIMARY KEY CHECK (length(session_hash) = 32),
        principal_id TEXT        NOT NULL REFERENCES principals (id),
        role         TEXT        NOT NULL,
        token_hash   BYTEA       REFERENCES tokens (token_hash),
        method       TEXT        NOT NULL CHECK (method IN ('token', 'link')),
        created_at   TIMESTAMPTZ NOT NULL,
        last_seen_at TIMESTAMPTZ NOT NULL,
        expires_at   TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX console_sessions_principal_idx ON console_sessions (principal_id);
    CREATE INDEX console_sessions_expiry_idx ON console_sessions (expires_at);
    """,
    # One-time sign-in links (ledger.sign_in_link): only the secret's hash is kept; a link is
    # spent by the UPDATE that marks it used (its row lock makes a concurrent second
    # redemption find it used). The history learns three more acts.
    """
    CREATE TABLE sign_in_links (
        link_id         TEXT        PRIMARY KEY,
        link_hash       BYTEA       NOT NULL UNIQUE,
        principal_id    TEXT        NOT NULL REFERENCES principals (id),
        departure_id    TEXT,
        issued_by       TEXT        NOT NULL,
        issued_role     TEXT        NOT NULL,
        issued_at       TIMESTAMPTZ NOT NULL,
        expires_at      TIMESTAMPTZ NOT NULL CHECK (expires_at > issued_at),
        used_at         TIMESTAMPTZ,
        used_ip         TEXT,
        used_user_agent TEXT,
        revoked         BOOLEAN     NOT NULL DEFAULT FALSE
    );
    CREATE INDEX sign_in_links_principal_idx ON sign_in_links (principal_id, issued_at);
    ALTER TABLE principal_history DROP CONSTRAINT principal_history_action_check;
    ALTER TABLE principal_history ADD CONSTRAINT principal_history_action_check
        CHECK (action IN ('token_issued', 'token_revoked', 'principal_deactivated',
                          'key_registered', 'key_revoked', 'sign_in_link_issued',
                          'sign_in_link_used', 'sign_in_link_revoked'));
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
        size        BIGINT      NOT NULL REFERENCES checkpoints (size),
        tsa_url     TEXT        NOT NULL,
        gen_time    TIMESTAMPTZ NOT NULL,
        response    BYTEA       NOT NULL,
        recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (size, tsa_url)
    );
    CREATE TRIGGER checkpoint_timestamps_reject_change BEFORE UPDATE OR DELETE
        ON checkpoint_timestamps FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
    CREATE TRIGGER checkpoint_timestamps_reject_truncate BEFORE TRUNCATE
        ON checkpoint_timestamps FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
    """,
    # Witness cosignatures (C2SP tlog-cosignature) of signed checkpoints, one line per witness
    # key and checkpoint, append-only like the checkpoints (ledger.witness.submitter).
    """
    CREATE TABLE checkpoint_cosignatures (
        size        BIGINT      NOT NULL REFERENCES checkpoints (size),
        witness     TEXT        NOT NULL,
        line        TEXT        NOT NULL,
        received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (size, witness)
    );
    CREATE TRIGGER checkpoint_cosignatures_reject_change BEFORE UPDATE OR DELETE
        ON checkpoint_cosignatures FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
    CREATE TRIGGER checkpoint_cosignatures_reject_truncate BEFORE TRUNCATE
        ON checkpoint_cosignatures FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
    """,
    # Failed authentications (api.ratelimit), so the limit holds across every process of a
    # deployment: one row per failure under its client key (an address, never a secret),
    # deleted once its window has passed.
    """
    CREATE TABLE auth_failures (
        client    TEXT             NOT NULL,
        failed_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX auth_failures_client_idx ON auth_failures (client, failed_at);
    CREATE INDEX auth_failures_time_idx ON auth_failures (failed_at);
    """,
    # Every change to who holds a token, made by the adapters or by hand in SQL, tells each
    # process's token cache (ledger.store.postgres_token_feed) in the changing transaction.
    """
    CREATE FUNCTION ledger_notify_principals() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('ledger_principals', '');
        RETURN NULL;
    END $$;
    CREATE TRIGGER tokens_notify AFTER UPDATE OR DELETE OR TRUNCATE ON tokens
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_notify_principals();
    CREATE TRIGGER principals_notify AFTER UPDATE OR DELETE OR TRUNCATE ON principals
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_notify_principals();
    """,
)
