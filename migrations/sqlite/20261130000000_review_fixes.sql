-- One row: the check value of the secret key that seals this database's secrets (a server with
-- another key refuses to start). Written at the first start after every sealed secret is bound
-- to its account, owner and purpose (secrets sealed before that are re-sealed then, once).
CREATE TABLE sealing_key (
    singleton         INTEGER PRIMARY KEY CHECK (singleton = 1),
    secret_key_check  TEXT NOT NULL
);

-- The request id a client asked for, kept apart from the server's own `request_id`.
ALTER TABLE audit_events ADD COLUMN client_request_id TEXT;
