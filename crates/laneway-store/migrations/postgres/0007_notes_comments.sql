-- Notes and comments (spec §7). A note hangs on a record, on a pipeline (a board) or on the
-- workspace; a comment is on a record or on a task. Both are soft-deleted like records.
-- pipeline_id has no foreign key: pipelines are deleted for good, and their notes (soft-deleted
-- with them) keep the id.

CREATE TABLE notes (
    id            UUID PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    title         TEXT NOT NULL,
    body          TEXT NOT NULL,
    record_id     UUID REFERENCES records(id),
    pipeline_id   UUID,
    author_id     UUID,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    deleted_at    TIMESTAMPTZ
);
CREATE INDEX notes_list ON notes (workspace_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX notes_record ON notes (workspace_id, record_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX notes_pipeline ON notes (workspace_id, pipeline_id, created_at, id) WHERE deleted_at IS NULL;

CREATE TABLE comments (
    id            UUID PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    record_id     UUID REFERENCES records(id),
    task_id       UUID REFERENCES tasks(id),
    body          TEXT NOT NULL,
    author_id     UUID,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    deleted_at    TIMESTAMPTZ
);
CREATE INDEX comments_record ON comments (workspace_id, record_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX comments_task ON comments (workspace_id, task_id, created_at, id) WHERE deleted_at IS NULL;
