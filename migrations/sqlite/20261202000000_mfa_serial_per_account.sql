-- An MFA device's serial number is unique within its account, no longer across all of them. A
-- hardware token's serial is what its owner types; AWS keeps it unique across AWS because it knows
-- each token's seed from the vendor, but here the seed is the caller's, so a global key let anyone
-- who may enable their own device learn that a serial was taken in another account, or take it
-- first. (Virtual devices and security keys are named by ARNs, which hold the account already.)
-- SQLite cannot change a primary key in place: the table is rebuilt with the same rows.
CREATE TABLE mfa_devices_by_account (
    account_id     TEXT NOT NULL REFERENCES accounts (account_id),
    serial_number  TEXT NOT NULL,
    name_key       TEXT NOT NULL,
    owner_id       TEXT,
    kind           TEXT NOT NULL,
    seed_sealed    TEXT,
    credential     TEXT,
    credential_id  TEXT UNIQUE,
    -- The last accepted TOTP step (replay protection) or WebAuthn signature counter.
    last_step      INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    enabled_at     INTEGER,
    PRIMARY KEY (account_id, serial_number),
    UNIQUE (account_id, name_key)
);
INSERT INTO mfa_devices_by_account (account_id, serial_number, name_key, owner_id, kind, seed_sealed, credential,
                                    credential_id, last_step, created_at, enabled_at)
SELECT account_id, serial_number, name_key, owner_id, kind, seed_sealed, credential, credential_id, last_step,
       created_at, enabled_at
FROM mfa_devices;
DROP TABLE mfa_devices;
ALTER TABLE mfa_devices_by_account RENAME TO mfa_devices;
CREATE INDEX mfa_devices_by_owner ON mfa_devices (owner_id);
