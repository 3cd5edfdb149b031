-- Contracts (spec §7): drafted on a record, sent for signature through a one-time public link,
-- signed by name. The link's token is stored only as its SHA-256.

CREATE TABLE contracts (
    id                    BLOB PRIMARY KEY,
    workspace_id          TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    record_id             BLOB NOT NULL REFERENCES records(id),
    title                 TEXT NOT NULL,
    body                  TEXT NOT NULL,
    status                TEXT NOT NULL,
    signer_name           TEXT,
    signed_at             TEXT,
    sent_at               TEXT,
    sign_token_hash       TEXT,
    sign_token_expires_at TEXT,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    deleted_at            TEXT
);
CREATE INDEX contracts_list ON contracts (workspace_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX contracts_record ON contracts (workspace_id, record_id, created_at, id) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX contracts_sign_token ON contracts (sign_token_hash) WHERE sign_token_hash IS NOT NULL;
