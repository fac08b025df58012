-- IAM entities beyond users: groups and memberships, roles, customer managed policies and their
-- versions, inline policies, attachments, access keys, the password policy and history, MFA
-- devices, Access Advisor records and credential reports. Times are milliseconds since the Unix
-- epoch (UTC), BIGINT throughout; names are unique per account (or per entity) ignoring case through `name_key`.

-- Bumped by every write that changes what some principal of the account may do, in the write's
-- transaction: cached policies remember it, and on PostgreSQL each request confirms it.
ALTER TABLE accounts ADD COLUMN authz_revision BIGINT NOT NULL DEFAULT 0;

CREATE TABLE iam_groups (
    group_id    TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (account_id),
    group_name  TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    path        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (account_id, name_key)
);

CREATE TABLE group_members (
    group_id    TEXT NOT NULL REFERENCES iam_groups (group_id),
    user_id     TEXT NOT NULL REFERENCES users (user_id),
    account_id  TEXT NOT NULL REFERENCES accounts (account_id),
    added_at    BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_by_user ON group_members (user_id);

CREATE TABLE roles (
    role_id                   TEXT PRIMARY KEY,
    account_id                TEXT NOT NULL REFERENCES accounts (account_id),
    role_name                 TEXT NOT NULL,
    name_key                  TEXT NOT NULL,
    path                      TEXT NOT NULL,
    description               TEXT NOT NULL DEFAULT '',
    trust_policy              TEXT NOT NULL,
    max_session_duration      BIGINT NOT NULL,
    permissions_boundary_arn  TEXT,
    created_at                BIGINT NOT NULL,
    last_used_at              BIGINT,
    last_used_region          TEXT,
    UNIQUE (account_id, name_key)
);

-- Customer managed policies. AWS managed policies ship with the server and are not stored.
CREATE TABLE managed_policies (
    policy_id        TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts (account_id),
    policy_name      TEXT NOT NULL,
    name_key         TEXT NOT NULL,
    path             TEXT NOT NULL,
    arn              TEXT NOT NULL UNIQUE,
    description      TEXT NOT NULL DEFAULT '',
    default_version  TEXT NOT NULL,
    -- The number the next version gets: versions are never renumbered.
    next_version     BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (account_id, name_key)
);

CREATE TABLE policy_versions (
    policy_id   TEXT NOT NULL REFERENCES managed_policies (policy_id),
    version_id  TEXT NOT NULL,
    document    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (policy_id, version_id)
);

-- Managed policies (customer or AWS, by ARN) attached to users, groups and roles.
CREATE TABLE policy_attachments (
    account_id   TEXT NOT NULL REFERENCES accounts (account_id),
    entity_id    TEXT NOT NULL,
    entity_kind  TEXT NOT NULL,
    policy_arn   TEXT NOT NULL,
    attached_at  BIGINT NOT NULL,
    PRIMARY KEY (entity_id, policy_arn)
);
CREATE INDEX policy_attachments_by_policy ON policy_attachments (account_id, policy_arn);

-- Inline policies of users, groups and roles.
CREATE TABLE inline_policies (
    account_id   TEXT NOT NULL REFERENCES accounts (account_id),
    entity_id    TEXT NOT NULL,
    entity_kind  TEXT NOT NULL,
    policy_name  TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    document     TEXT NOT NULL,
    PRIMARY KEY (entity_id, name_key)
);

-- Access keys of users (`owner_id` = user id) and of the root user (`owner_id` = account id).
-- The secret is sealed with the server's key; it is shown once, at creation.
CREATE TABLE access_keys (
    access_key_id      TEXT PRIMARY KEY,
    account_id         TEXT NOT NULL REFERENCES accounts (account_id),
    owner_id           TEXT NOT NULL,
    secret_sealed      TEXT NOT NULL,
    active             BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    last_used_at       BIGINT,
    last_used_region   TEXT,
    last_used_service  TEXT
);
CREATE INDEX access_keys_by_owner ON access_keys (owner_id);

CREATE TABLE password_policies (
    account_id                      TEXT PRIMARY KEY REFERENCES accounts (account_id),
    minimum_length                  BIGINT NOT NULL,
    require_symbols                 BIGINT NOT NULL,
    require_numbers                 BIGINT NOT NULL,
    require_uppercase               BIGINT NOT NULL,
    require_lowercase               BIGINT NOT NULL,
    allow_users_to_change_password  BIGINT NOT NULL,
    max_password_age                BIGINT,
    password_reuse_prevention       BIGINT,
    hard_expiry                     BIGINT NOT NULL
);

-- Earlier password hashes of users, for `PasswordReusePrevention`.
CREATE TABLE password_history (
    user_id        TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    changed_at     BIGINT NOT NULL
);
CREATE INDEX password_history_by_user ON password_history (user_id, changed_at);

-- MFA devices: virtual TOTP devices (seed sealed) and WebAuthn security keys (credential JSON).
-- `owner_id` is the user id (or the account id for root); NULL for a virtual device created but
-- not yet enabled.
CREATE TABLE mfa_devices (
    serial_number  TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES accounts (account_id),
    name_key       TEXT NOT NULL,
    owner_id       TEXT,
    kind           TEXT NOT NULL,
    seed_sealed    TEXT,
    credential     TEXT,
    credential_id  TEXT UNIQUE,
    -- The last accepted TOTP step (replay protection) or WebAuthn signature counter.
    last_step      BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    enabled_at     BIGINT,
    UNIQUE (account_id, name_key)
);
CREATE INDEX mfa_devices_by_owner ON mfa_devices (owner_id);

-- Access Advisor: per principal, service and granting policy, the last authorized access.
CREATE TABLE service_access (
    account_id        TEXT NOT NULL REFERENCES accounts (account_id),
    principal_id      TEXT NOT NULL,
    principal_arn     TEXT NOT NULL,
    service           TEXT NOT NULL,
    policy            TEXT NOT NULL,
    last_action       TEXT NOT NULL,
    last_accessed_at  BIGINT NOT NULL,
    PRIMARY KEY (principal_id, service, policy)
);
CREATE INDEX service_access_by_account ON service_access (account_id, service);

CREATE TABLE credential_reports (
    account_id    TEXT PRIMARY KEY REFERENCES accounts (account_id),
    started_at    BIGINT NOT NULL,
    generated_at  BIGINT,
    content       TEXT
);
