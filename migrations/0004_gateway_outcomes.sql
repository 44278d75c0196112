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
