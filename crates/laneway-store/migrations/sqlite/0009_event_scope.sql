-- The record and pipeline an event is about, resolved when it is written: webhook scopes
-- (`record_id`, `pipeline_id`) match what was true at commit, even if the record moves before
-- the fan-out reads the event. `scoped` tells these apart from events written before.
ALTER TABLE events ADD COLUMN scoped INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN scope_record_id BLOB;
ALTER TABLE events ADD COLUMN scope_pipeline_id BLOB;
