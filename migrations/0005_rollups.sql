-- llmobserve 0005: daily rollups maintained by the cron (worker/src/cron.rs), and the
-- state that makes them idempotent and lets raw events age out once rolled up.
-- Keys hold '' where the event had NULL (no customer, no model, no section): a primary
-- key needs comparable values, and '' is never a valid id, model or section.

-- One row per tenant, UTC day, customer, model, provider, endpoint and top-level section.
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
