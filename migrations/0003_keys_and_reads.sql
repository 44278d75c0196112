-- llmobserve 0003: scoped keys (customer binding, expiry, rotation) and the read side
-- (the insights table, indexes for the read API). Every index on a tenant's data starts
-- with tenant_id.

ALTER TABLE api_keys ADD COLUMN customer_id TEXT;          -- NULL: any customer; set only on read-only tenant-bound keys
ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;        -- unix ms; NULL: never expires
ALTER TABLE api_keys ADD COLUMN secret_hint TEXT;          -- llmo_...abcd: tells keys apart in listings
ALTER TABLE api_keys ADD COLUMN previous_key_hash TEXT;    -- the rotated-out secret, valid until previous_expires_at
ALTER TABLE api_keys ADD COLUMN previous_expires_at INTEGER;
ALTER TABLE api_keys ADD COLUMN rotated_at INTEGER;
ALTER TABLE api_keys ADD COLUMN created_by TEXT;           -- id of the admin key that made it; NULL: the admin token
CREATE UNIQUE INDEX api_keys_by_previous_hash ON api_keys (previous_key_hash);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at);

-- Newest-first pages of a tenant, and the sums of /costs and /tenants/{t}/customers read
-- from the index alone (covering): one month of a large tenant is summed without
-- touching the table. Replaces 0001's (tenant_id, started_at DESC, id DESC).
DROP INDEX events_by_tenant_time;
CREATE INDEX events_by_tenant_time ON events (tenant_id, started_at DESC, id DESC, pricing_status, status_code,
  cost_nanousd, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, latency_ms, customer_id,
  request_model, response_model, provider, endpoint, section_path);

-- Newest-first pages of one customer, and a run's events in order, without a sort.
DROP INDEX events_by_tenant_customer;
CREATE INDEX events_by_tenant_customer ON events (tenant_id, customer_id, started_at DESC, id DESC);
DROP INDEX events_by_tenant_run;
CREATE INDEX events_by_tenant_run ON events (tenant_id, run_id, started_at, id);

-- Daily insights, written by the cron and served by GET /insights/daily.
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
