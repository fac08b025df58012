-- Foundation: accounts with their root users, IAM users, login profiles, tags and audit events.
-- Times are milliseconds since the Unix epoch (UTC). Names are unique per account ignoring case,
-- through a lower-cased `name_key` column. Integers are BIGINT throughout: the store binds i64.

-- One row once the first account exists: the setup link works only while this table is empty.
CREATE TABLE installation (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    created_at  BIGINT NOT NULL
);

CREATE TABLE accounts (
    account_id                TEXT PRIMARY KEY,
    alias                     TEXT UNIQUE,
    root_email                TEXT NOT NULL,
    root_email_key            TEXT NOT NULL UNIQUE,
    root_password_hash        TEXT NOT NULL,
    root_password_changed_at  BIGINT NOT NULL,
    root_password_last_used   BIGINT,
    -- Bumped by every mutation in the account, first thing in its transaction: this serializes
    -- writers per account on both databases, so checks of quotas and uniqueness cannot race.
    revision                  BIGINT NOT NULL DEFAULT 0,
    created_at                BIGINT NOT NULL
);

CREATE TABLE users (
    user_id                   TEXT PRIMARY KEY,
    account_id                TEXT NOT NULL REFERENCES accounts (account_id),
    user_name                 TEXT NOT NULL,
    name_key                  TEXT NOT NULL,
    path                      TEXT NOT NULL,
    permissions_boundary_arn  TEXT,
    created_at                BIGINT NOT NULL,
    UNIQUE (account_id, name_key)
);
CREATE INDEX users_by_path ON users (account_id, path, name_key);

CREATE TABLE login_profiles (
    user_id               TEXT PRIMARY KEY REFERENCES users (user_id),
    account_id            TEXT NOT NULL REFERENCES accounts (account_id),
    password_hash         TEXT NOT NULL,
    reset_required        BIGINT NOT NULL DEFAULT 0,
    created_at            BIGINT NOT NULL,
    password_changed_at   BIGINT NOT NULL,
    password_last_used    BIGINT
);

-- Tags of every taggable entity; `entity_id` is the entity's unique id (AIDA..., AROA..., ...).
CREATE TABLE tags (
    account_id  TEXT NOT NULL REFERENCES accounts (account_id),
    entity_id   TEXT NOT NULL,
    key_key     TEXT NOT NULL,
    tag_key     TEXT NOT NULL,
    tag_value   TEXT NOT NULL,
    position    BIGINT NOT NULL,
    PRIMARY KEY (entity_id, key_key)
);

CREATE TABLE audit_events (
    event_id        BIGSERIAL PRIMARY KEY,
    account_id      TEXT NOT NULL,
    occurred_at     BIGINT NOT NULL,
    principal_arn   TEXT NOT NULL,
    channel         TEXT NOT NULL,
    source_ip       TEXT,
    request_id      TEXT,
    action          TEXT NOT NULL,
    target          TEXT,
    parameters      TEXT NOT NULL,
    outcome         TEXT NOT NULL
);
CREATE INDEX audit_events_by_account ON audit_events (account_id, event_id);
CREATE INDEX audit_events_by_principal ON audit_events (account_id, principal_arn, event_id);
