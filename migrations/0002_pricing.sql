-- llmobserve 0002: raw usage of every modality on events (so a cost can be recomputed),
-- per-deployment price overrides, and re-pricing runs.

ALTER TABLE events ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN cached_audio_input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN image_input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN cached_image_input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN image_output_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN audio_duration_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN characters INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN images INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN image_size TEXT;
ALTER TABLE events ADD COLUMN image_quality TEXT;
ALTER TABLE events ADD COLUMN service_tier TEXT NOT NULL DEFAULT 'standard';
ALTER TABLE events ADD COLUMN repricing_run_id TEXT;

-- Append-only: a PUT adds a row, a DELETE adds a row with spec NULL. The newest row per
-- (provider, model, effective_from) is in force; MAX(id) is the override revision that
-- names the price list (price_version `<registry>+o<id>`).
CREATE TABLE price_overrides (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  provider        TEXT NOT NULL,
  model           TEXT NOT NULL,
  effective_from  TEXT NOT NULL,           -- YYYY-MM-DD (UTC)
  spec            TEXT,                    -- the entry as JSON, registry format; NULL: deleted
  note            TEXT,
  created_by      TEXT,                    -- key id, or 'admin-token'
  created_at      INTEGER NOT NULL         -- unix ms
);

CREATE INDEX price_overrides_by_model ON price_overrides (provider, model, effective_from, id);

CREATE TABLE repricing_runs (
  id                    TEXT PRIMARY KEY,  -- rp_<hex>
  tenant_id             TEXT NOT NULL,
  from_ms               INTEGER NOT NULL,  -- started_at >= from_ms
  to_ms                 INTEGER NOT NULL,  -- started_at < to_ms
  status                TEXT NOT NULL CHECK (status IN ('running', 'complete')),
  cursor_started_at     INTEGER,           -- last event done (keyset cursor)
  cursor_id             TEXT,
  events_seen           INTEGER NOT NULL DEFAULT 0,
  events_changed        INTEGER NOT NULL DEFAULT 0,
  priced_before         INTEGER NOT NULL DEFAULT 0,
  priced_after          INTEGER NOT NULL DEFAULT 0,
  total_before_nanousd  INTEGER NOT NULL DEFAULT 0,
  total_after_nanousd   INTEGER NOT NULL DEFAULT 0,
  old_price_versions    TEXT NOT NULL DEFAULT '{}',  -- JSON {version: events}
  new_price_version     TEXT NOT NULL,
  requested_by          TEXT,
  created_at            INTEGER NOT NULL,
  finished_at           INTEGER
);

CREATE INDEX repricing_runs_by_tenant ON repricing_runs (tenant_id, created_at);
