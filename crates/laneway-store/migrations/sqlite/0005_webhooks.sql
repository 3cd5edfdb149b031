-- Webhooks (spec webhooks.md): subscriptions, their deliveries (one per event and webhook) and
-- every attempt of each delivery.

CREATE TABLE webhooks (
    id                     TEXT PRIMARY KEY,
    workspace_id           TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name                   TEXT NOT NULL,
    url                    TEXT NOT NULL,
    events                 TEXT NOT NULL,
    pipeline_id            BLOB,
    record_id              BLOB,
    filter                 TEXT,
    ordering               TEXT NOT NULL DEFAULT 'none',
    rate_limit             INTEGER,
    is_active              INTEGER NOT NULL,
    disabled_reason        TEXT,
    -- Needed in the clear to sign; never logged, never in a list or get response.
    secret                 TEXT NOT NULL,
    previous_secret        TEXT,
    previous_secret_until  TEXT,
    last_triggered_at      TEXT,
    last_status            INTEGER,
    failure_count          INTEGER NOT NULL DEFAULT 0,
    -- The one-second window of `rate_limit`: when it began and how many were sent in it.
    rate_window_start      TEXT,
    rate_window_count      INTEGER NOT NULL DEFAULT 0,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL
);
CREATE UNIQUE INDEX webhooks_url ON webhooks (workspace_id, url);
CREATE INDEX webhooks_list ON webhooks (workspace_id, created_at, id);

-- `seq` is the fan-out order (event commit order), which per-resource ordering follows.
-- `due_at` is when a pending delivery is next tried, or when an in-flight claim's lease ends.
CREATE TABLE webhook_deliveries (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    id                BLOB NOT NULL UNIQUE,
    workspace_id      TEXT NOT NULL,
    webhook_id        TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id          BLOB NOT NULL,
    event             TEXT NOT NULL,
    resource_key      TEXT NOT NULL,
    payload           TEXT NOT NULL,
    status            TEXT NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    series_start      INTEGER NOT NULL DEFAULT 0,
    due_at            TEXT NOT NULL,
    lease_token       BLOB,
    last_status_code  INTEGER,
    last_error        TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (webhook_id, event_id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due_at) WHERE status IN ('pending', 'in_flight');
CREATE INDEX webhook_deliveries_list ON webhook_deliveries (webhook_id, created_at, id);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (webhook_id, seq);
CREATE INDEX webhook_deliveries_resource ON webhook_deliveries (webhook_id, resource_key, seq);
CREATE INDEX webhook_deliveries_month ON webhook_deliveries (workspace_id, created_at);

CREATE TABLE webhook_attempts (
    id                BLOB PRIMARY KEY,
    delivery_id       BLOB NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt           INTEGER NOT NULL,
    started_at        TEXT NOT NULL,
    duration_ms       INTEGER NOT NULL,
    status_code       INTEGER,
    error             TEXT,
    response_headers  TEXT,
    response_body     TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, started_at);

-- How far the fan-out has read the event log. No webhook exists before this migration, so it
-- starts at the end of the log.
CREATE TABLE webhook_fanout (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    tx   INTEGER NOT NULL,
    seq  INTEGER NOT NULL
);
INSERT INTO webhook_fanout (id, tx, seq) SELECT 1, 0, COALESCE(MAX(seq), 0) FROM events;
