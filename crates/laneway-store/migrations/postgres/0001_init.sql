-- Laneway schema v1 (PostgreSQL). Same tables and version numbers as the SQLite set.

CREATE TABLE workspaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    time_zone   TEXT NOT NULL DEFAULT 'UTC',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE members (
    id             UUID PRIMARY KEY,
    workspace_id   TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    email          TEXT NOT NULL,
    role           TEXT NOT NULL,
    password_hash  TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX members_email ON members (workspace_id, email) WHERE deleted_at IS NULL;
CREATE INDEX members_list ON members (workspace_id, created_at);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    member_id     UUID NOT NULL REFERENCES members(id),
    name          TEXT NOT NULL,
    scope         TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    prefix        TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX api_keys_list ON api_keys (workspace_id, created_at);

CREATE TABLE object_types (
    id            UUID PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    slug          TEXT NOT NULL,
    icon          TEXT,
    fields JSONB NOT NULL DEFAULT '[]',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX object_types_slug ON object_types (workspace_id, slug) WHERE deleted_at IS NULL;

CREATE TABLE pipelines (
    id            UUID PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    slug          TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX pipelines_slug ON pipelines (workspace_id, slug);

CREATE TABLE stages (
    id            UUID PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    pipeline_id   UUID NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    slug          TEXT NOT NULL,
    position      BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX stages_slug ON stages (pipeline_id, slug);

CREATE TABLE records (
    id              UUID PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    object_type_id  UUID NOT NULL REFERENCES object_types(id),
    pipeline_id     UUID REFERENCES pipelines(id) ON DELETE SET NULL,
    stage_id        UUID REFERENCES stages(id) ON DELETE SET NULL,
    assignee_id     UUID REFERENCES members(id),
    title           TEXT NOT NULL,
    title_search    TEXT NOT NULL,
    data JSONB NOT NULL DEFAULT '{}',
    position        TEXT COLLATE "C",  -- fractional-index keys sort bytewise
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ
);
CREATE INDEX records_list ON records (workspace_id, created_at) WHERE deleted_at IS NULL;
CREATE INDEX records_type ON records (workspace_id, object_type_id, created_at) WHERE deleted_at IS NULL;
CREATE INDEX records_assignee ON records (assignee_id) WHERE deleted_at IS NULL;
CREATE INDEX records_stage ON records (stage_id, position) WHERE deleted_at IS NULL;

CREATE TABLE tasks (
    id            UUID PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    record_id     UUID REFERENCES records(id),
    assignee_id   UUID REFERENCES members(id),
    title         TEXT NOT NULL,
    notes         TEXT,
    due_date DATE,
    completed BOOLEAN NOT NULL DEFAULT FALSE,
    completed_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ
);
CREATE INDEX tasks_list ON tasks (workspace_id, created_at) WHERE deleted_at IS NULL;
CREATE INDEX tasks_record ON tasks (record_id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_assignee ON tasks (assignee_id) WHERE deleted_at IS NULL;

-- The transactional outbox and audit trail. `seq` orders events for readers of the outbox.
CREATE TABLE events (
    seq BIGSERIAL PRIMARY KEY,
    id             UUID NOT NULL UNIQUE,
    workspace_id   TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    event          TEXT NOT NULL,
    resource_type  TEXT NOT NULL,
    resource_id    TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    data JSONB NOT NULL
);
CREATE INDEX events_list ON events (workspace_id, seq);
CREATE INDEX events_resource ON events (workspace_id, resource_type, resource_id, seq);

-- Idempotency-Key replay store (24 h).
CREATE TABLE idempotency_keys (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    idem_key      TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        BIGINT NOT NULL,
    body          TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace_id, idem_key)
);
