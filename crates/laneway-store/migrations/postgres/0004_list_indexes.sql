-- Indexes for filtered, sorted lists (filters.md). Every list ends its order with the id, so the
-- list indexes carry it too and a page is read straight off the index; the equality filters
-- that integrators use most (assignee, stage, pipeline, type) get an index that also keeps
-- the default order, so "filter + newest first + 50 rows" stops after 50 matches.
DROP INDEX records_list;
CREATE INDEX records_list ON records (workspace_id, created_at, id) WHERE deleted_at IS NULL;
DROP INDEX records_type;
CREATE INDEX records_type ON records (workspace_id, object_type_id, created_at, id) WHERE deleted_at IS NULL;
DROP INDEX records_assignee;
CREATE INDEX records_assignee ON records (workspace_id, assignee_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX records_stage_list ON records (workspace_id, stage_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX records_pipeline_list ON records (workspace_id, pipeline_id, created_at, id) WHERE deleted_at IS NULL;
DROP INDEX tasks_list;
CREATE INDEX tasks_list ON tasks (workspace_id, created_at, id) WHERE deleted_at IS NULL;
DROP INDEX tasks_assignee;
CREATE INDEX tasks_assignee ON tasks (workspace_id, assignee_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_due ON tasks (workspace_id, due_date, id) WHERE deleted_at IS NULL;
DROP INDEX members_list;
CREATE INDEX members_list ON members (workspace_id, created_at, id);
DROP INDEX api_keys_list;
CREATE INDEX api_keys_list ON api_keys (workspace_id, created_at, id);
CREATE INDEX events_created ON events (workspace_id, created_at, id);

-- `contains`/`startswith`/`endswith` on a record's title are LIKE over title_search; a trigram
-- index answers them without reading every row. pg_trgm ships with PostgreSQL's contrib
-- package; where it is missing or may not be created, lists still work, by scanning.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX records_title_trgm ON records USING gin (title_search gin_trgm_ops)
            WHERE deleted_at IS NULL;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'pg_trgm cannot be created here; title searches will scan';
END
$$;
