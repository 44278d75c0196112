-- The D1 schema as it stands after every migration in migrations/ (checked by
-- scripts/check-schema.py in the test command). Change the schema by adding a numbered
-- migration, then update this file to match.

CREATE TABLE api_keys (
  id          TEXT PRIMARY KEY,            -- public id, key_<16 hex>
  key_hash    TEXT NOT NULL UNIQUE,        -- SHA-256 of the secret; the secret is never stored
  name        TEXT NOT NULL,
  scopes      TEXT NOT NULL,               -- comma-separated: ingest,read,admin
  tenant_id   TEXT,                        -- NULL: may act for any tenant
  created_at  INTEGER NOT NULL,            -- unix ms
  revoked_at  INTEGER,                     -- unix ms; NULL while active
  customer_id TEXT,                        -- NULL: any customer; set only on read-only tenant-bound keys
  expires_at  INTEGER,                     -- unix ms; NULL: never expires
  secret_hint TEXT,                        -- llmo_...abcd: tells keys apart in listings
  previous_key_hash TEXT,                  -- the rotated-out secret, valid until previous_expires_at
  previous_expires_at INTEGER,
  rotated_at  INTEGER,
  created_by  TEXT                         -- id of the admin key that made it; NULL: the admin token
);
CREATE UNIQUE INDEX api_keys_by_previous_hash ON api_keys (previous_key_hash);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at);

CREATE TABLE events (
  id                   TEXT PRIMARY KEY,   -- UUIDv7 minted at request entry (idempotency key)
  tenant_id            TEXT NOT NULL,
  customer_id          TEXT,
  section_path         TEXT,
  run_id               TEXT,
  attempt              INTEGER,
  key_id               TEXT,
  provider             TEXT NOT NULL,
  endpoint             TEXT NOT NULL,
  method               TEXT NOT NULL,
  request_model        TEXT,
  response_model       TEXT,
  is_stream            INTEGER NOT NULL CHECK (is_stream IN (0, 1)),
  status_code          INTEGER NOT NULL,
  error                TEXT,
  input_tokens         INTEGER NOT NULL DEFAULT 0,
  cached_input_tokens  INTEGER NOT NULL DEFAULT 0,
  output_tokens        INTEGER NOT NULL DEFAULT 0,
  reasoning_tokens     INTEGER NOT NULL DEFAULT 0,
  audio_input_tokens   INTEGER NOT NULL DEFAULT 0,
  audio_output_tokens  INTEGER NOT NULL DEFAULT 0,
  usage_source         TEXT NOT NULL CHECK (usage_source IN ('reported', 'estimated', 'missing')),
  pricing_status       TEXT NOT NULL CHECK (pricing_status IN ('priced', 'unpriced')),
  unpriced_reason      TEXT,
  cost_nanousd         INTEGER,            -- NULL when unpriced, never a silent 0
  price_ref            TEXT,               -- registry entry used: provider/model@effective_from
  price_version        TEXT,               -- registry version used
  started_at           INTEGER NOT NULL,   -- unix ms at request entry
  latency_ms           INTEGER NOT NULL,
  -- raw usage of other modalities and the tier (0002), so a cost can be recomputed
  cache_write_tokens         INTEGER NOT NULL DEFAULT 0,
  cache_write_1h_tokens      INTEGER NOT NULL DEFAULT 0,
  cached_audio_input_tokens  INTEGER NOT NULL DEFAULT 0,
  image_input_tokens         INTEGER NOT NULL DEFAULT 0,
  cached_image_input_tokens  INTEGER NOT NULL DEFAULT 0,
  image_output_tokens        INTEGER NOT NULL DEFAULT 0,
  audio_duration_ms          INTEGER NOT NULL DEFAULT 0,
  characters                 INTEGER NOT NULL DEFAULT 0,
  images                     INTEGER NOT NULL DEFAULT 0,
  image_size                 TEXT,         -- 1024x1024
  image_quality              TEXT,         -- standard, hd, low, medium, high
  service_tier               TEXT NOT NULL DEFAULT 'standard',
  repricing_run_id           TEXT,         -- the last re-pricing run that changed this event
  outcome              TEXT NOT NULL DEFAULT 'completed'
    CHECK (outcome IN ('completed', 'stream_cancelled', 'stream_interrupted', 'upstream_unreachable', 'upstream_timeout')),
  ttfb_ms              INTEGER,            -- request entry to upstream's response headers
  upstream_request_id  TEXT,               -- upstream's x-request-id
  error_type           TEXT,               -- upstream error.type (error holds error.code)
  retry_after_ms       INTEGER,
  ratelimit_limit_requests     INTEGER,
  ratelimit_remaining_requests INTEGER,
  ratelimit_limit_tokens       INTEGER,
  ratelimit_remaining_tokens   INTEGER,
  properties           TEXT,               -- JSON object of x-llmobserve-property-* values
  client_event_id      TEXT,               -- the id an application gave a reported event
  request_hash         TEXT,               -- SHA-256 of the request body
  is_retry             INTEGER NOT NULL DEFAULT 0 CHECK (is_retry IN (0, 1)),
  retry_of             TEXT,               -- event id of the failed attempt this call retried (derived)
  declared_attempt     INTEGER,            -- the attempt the caller named (0006); `attempt` may be derived
  CHECK ((pricing_status = 'priced') = (cost_nanousd IS NOT NULL))
);

CREATE INDEX events_by_tenant_time ON events (tenant_id, started_at DESC, id DESC, pricing_status, status_code,
  cost_nanousd, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, latency_ms, customer_id,
  request_model, response_model, provider, endpoint, section_path);
CREATE INDEX events_by_tenant_customer ON events (tenant_id, customer_id, started_at DESC, id DESC);
CREATE INDEX events_by_tenant_run ON events (tenant_id, run_id, started_at, id);
CREATE INDEX events_by_tenant_run_request ON events (tenant_id, run_id, request_hash, started_at);
CREATE INDEX events_by_tenant_retry_of ON events (tenant_id, retry_of) WHERE retry_of IS NOT NULL;

-- Events that reached the dead-letter queue and could not be written although D1 answered
-- (0006; counted in /health as ingest.unwritten_events; `event_row` is the insert, for a replay).
CREATE TABLE ingest_failures (
  event_id   TEXT PRIMARY KEY,
  tenant_id  TEXT NOT NULL,
  stage      TEXT NOT NULL CHECK (stage IN ('dead_letter')),
  reason     TEXT NOT NULL,
  failed_at  INTEGER NOT NULL,             -- unix ms
  event_row  TEXT NOT NULL                 -- JSON object: column -> value
);
CREATE INDEX ingest_failures_by_tenant ON ingest_failures (tenant_id, failed_at);

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

CREATE TABLE insights (
  id          TEXT PRIMARY KEY,
  tenant_id   TEXT NOT NULL,
  day         TEXT NOT NULL,                 -- YYYY-MM-DD (UTC) the insight is about
  type        TEXT NOT NULL,                 -- e.g. spend_spike, top_customers, retry_waste, unpriced_models
  severity    TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  customer_id TEXT,                          -- NULL: about the whole tenant (may name several customers)
  payload     TEXT NOT NULL CHECK (json_valid(payload)),
  created_at  INTEGER NOT NULL               -- unix ms
);
CREATE INDEX insights_by_tenant_day ON insights (tenant_id, day);
CREATE INDEX insights_by_tenant_customer_day ON insights (tenant_id, customer_id, day);
CREATE TABLE rollups (
  tenant_id             TEXT NOT NULL,
  day                   INTEGER NOT NULL,    -- days since 1970-01-01 (UTC): started_at / 86400000
  customer_id           TEXT NOT NULL,       -- '' : none
  model                 TEXT NOT NULL,       -- COALESCE(response_model, request_model, '')
  provider              TEXT NOT NULL,
  endpoint              TEXT NOT NULL,
  section               TEXT NOT NULL,       -- first segment of section_path, '' : none
  calls                 INTEGER NOT NULL,
  priced_calls          INTEGER NOT NULL,
  unpriced_calls        INTEGER NOT NULL,    -- cost unknown (unpriced for any reason but no_usage)
  error_calls           INTEGER NOT NULL,    -- status outside 200..299
  cost_nanousd          INTEGER NOT NULL,    -- priced calls only
  input_tokens          INTEGER NOT NULL,
  cached_input_tokens   INTEGER NOT NULL,
  output_tokens         INTEGER NOT NULL,
  reasoning_tokens      INTEGER NOT NULL,
  latency_ms_sum        INTEGER NOT NULL,
  retry_calls           INTEGER NOT NULL,    -- is_retry = 1
  retry_waste_nanousd   INTEGER NOT NULL,    -- cost of attempts that a later attempt replaced
  cancelled_calls       INTEGER NOT NULL,    -- outcome = stream_cancelled
  cancelled_nanousd     INTEGER NOT NULL,
  rate_limited_calls    INTEGER NOT NULL,    -- status 429
  headroom_calls        INTEGER NOT NULL,    -- calls whose response carried token rate-limit headers
  min_headroom_permille INTEGER,             -- lowest remaining/limit tokens seen, per mille; NULL: none seen
  PRIMARY KEY (tenant_id, day, customer_id, model, provider, endpoint, section)
) WITHOUT ROWID;
-- "Seen before?" for the new-model and new-customer insights, and /costs of one customer.
CREATE INDEX rollups_by_model ON rollups (tenant_id, model, day);
CREATE INDEX rollups_by_customer ON rollups (tenant_id, customer_id, day);

-- One row per tenant and day that has been rolled up: the fingerprint of the events it
-- was built from (a re-roll happens when the events no longer match it), whether the
-- day's raw events were aged out, and when its insights were computed.
CREATE TABLE rollup_days (
  tenant_id      TEXT NOT NULL,
  day            INTEGER NOT NULL,           -- days since 1970-01-01 (UTC)
  events         INTEGER NOT NULL,           -- events rolled up (including aged-out ones)
  cost_nanousd   INTEGER NOT NULL,
  max_started_at INTEGER NOT NULL,
  rolled_at      INTEGER NOT NULL,           -- unix ms
  aged_out       INTEGER NOT NULL DEFAULT 0 CHECK (aged_out IN (0, 1)),
  insights_at    INTEGER,                    -- unix ms; NULL: insights not computed for this version of the day
  PRIMARY KEY (tenant_id, day)
) WITHOUT ROWID;
