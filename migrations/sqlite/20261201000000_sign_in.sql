-- Console sign-in: failed attempts per sign-in subject (growing delays, never a lock-out), and the
-- console sessions themselves, so that users can see and end their own, administrators can end a
-- user's, and a session's idle and absolute timeouts and MFA hold on every server node.

-- `subject` names what was tried: a principal's id when the account and user exist, else a
-- digest of what was typed, so unknown names are slowed down exactly as known ones are.
CREATE TABLE sign_in_failures (
    subject          TEXT PRIMARY KEY,
    failures         INTEGER NOT NULL,
    last_failure_at  INTEGER NOT NULL
);
CREATE INDEX sign_in_failures_by_time ON sign_in_failures (last_failure_at);

CREATE TABLE console_sessions (
    session_ref     TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts (account_id),
    -- The user id, or the account id for the root user.
    principal_id    TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    last_seen_at    INTEGER NOT NULL,
    -- When the session passed its MFA step, and with which device.
    mfa_at          INTEGER,
    mfa_device      TEXT,
    source_ip       TEXT,
    user_agent      TEXT
);
CREATE INDEX console_sessions_by_principal ON console_sessions (principal_id);
CREATE INDEX console_sessions_by_last_seen ON console_sessions (last_seen_at);
