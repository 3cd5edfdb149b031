-- Contracts (spec §7): drafted on a record, sent for signature through a one-time public link,
-- signed by name. The link's token is stored only as its SHA-256.

CREATE TABLE contracts (
    id                    UUID PRIMARY KEY,
    workspace_id          TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    record_id             UUID NOT NULL REFERENCES records(id),
    title                 TEXT NOT NULL,
    body                  TEXT NOT NULL,
    status                TEXT NOT NULL,
    signer_name           TEXT,
    signed_at             TIMESTAMPTZ,
    sent_at               TIMESTAMPTZ,
    sign_token_hash       TEXT,
    sign_token_expires_at TIMESTAMPTZ,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL,
    deleted_at            TIMESTAMPTZ
);
CREATE INDEX contracts_list ON contracts (workspace_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX contracts_record ON contracts (workspace_id, record_id, created_at, id) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX contracts_sign_token ON contracts (sign_token_hash) WHERE sign_token_hash IS NOT NULL;
