-- Forms (spec §7): a public form whose submissions become records of an object type, on a
-- board when it names one. The referenced object type, pipeline and stage are checked when a
-- submission comes in (they can be deleted meanwhile), so they carry no foreign key.

CREATE TABLE forms (
    id              BLOB PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    object_type_id  BLOB NOT NULL,
    pipeline_id     BLOB,
    stage_id        BLOB,
    fields          TEXT NOT NULL,
    title_field     TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    deleted_at      TEXT
);
CREATE INDEX forms_list ON forms (workspace_id, created_at, id) WHERE deleted_at IS NULL;
