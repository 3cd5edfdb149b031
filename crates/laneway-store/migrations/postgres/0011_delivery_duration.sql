-- Each delivery keeps its last attempt's response time beside its status, so the history list
-- can show, filter and sort by it without reading the attempts.
ALTER TABLE webhook_deliveries ADD COLUMN last_duration_ms BIGINT;
UPDATE webhook_deliveries d SET last_duration_ms = (
    SELECT a.duration_ms FROM webhook_attempts a
    WHERE a.delivery_id = d.id
    ORDER BY a.attempt DESC, a.started_at DESC LIMIT 1
);
