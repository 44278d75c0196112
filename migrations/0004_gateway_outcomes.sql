-- llmobserve 0004: how each call ended, and what upstream's headers said about it
-- (request id, rate-limit headroom, error type, retry-after), for rate-limit pressure
-- and waste insights.
ALTER TABLE events ADD COLUMN outcome TEXT NOT NULL DEFAULT 'completed'
  CHECK (outcome IN ('completed', 'stream_cancelled', 'stream_interrupted', 'upstream_unreachable', 'upstream_timeout'));
ALTER TABLE events ADD COLUMN ttfb_ms INTEGER;
ALTER TABLE events ADD COLUMN upstream_request_id TEXT;
ALTER TABLE events ADD COLUMN error_type TEXT;
ALTER TABLE events ADD COLUMN retry_after_ms INTEGER;
ALTER TABLE events ADD COLUMN ratelimit_limit_requests INTEGER;
ALTER TABLE events ADD COLUMN ratelimit_remaining_requests INTEGER;
ALTER TABLE events ADD COLUMN ratelimit_limit_tokens INTEGER;
ALTER TABLE events ADD COLUMN ratelimit_remaining_tokens INTEGER;

-- Attribution beyond the headers of 0001: free-form properties, the collector's own ids,
-- and retries (explicit attempt numbers, or the same request body again after a failure).
ALTER TABLE events ADD COLUMN properties TEXT;           -- JSON object, NULL when none
ALTER TABLE events ADD COLUMN client_event_id TEXT;      -- the id an application gave a reported event
ALTER TABLE events ADD COLUMN request_hash TEXT;         -- SHA-256 of the request body
ALTER TABLE events ADD COLUMN is_retry INTEGER NOT NULL DEFAULT 0 CHECK (is_retry IN (0, 1));
ALTER TABLE events ADD COLUMN retry_of TEXT;             -- event id of the failed attempt retried
CREATE INDEX events_by_tenant_run_request ON events (tenant_id, run_id, request_hash, started_at);
CREATE INDEX events_by_tenant_retry_of ON events (tenant_id, retry_of) WHERE retry_of IS NOT NULL;
