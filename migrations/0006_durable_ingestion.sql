-- llmobserve 0006: durable ingestion (docs/delivery.md).
-- The attempt a caller named, apart from the derived `attempt`, so that retry facts can be
-- recomputed from the stored chain whatever order events are written in. Existing rows:
-- an attempt without a `retry_of` was named by the caller (implicit retries always have one).
ALTER TABLE events ADD COLUMN declared_attempt INTEGER;
UPDATE events SET declared_attempt = attempt WHERE attempt IS NOT NULL AND retry_of IS NULL;

-- Events that reached the dead-letter queue and could not be written although D1 answered
-- (counted in /health as ingest.unwritten_events; `event_row` is the insert, for a replay).
CREATE TABLE ingest_failures (
  event_id   TEXT PRIMARY KEY,
  tenant_id  TEXT NOT NULL,
  stage      TEXT NOT NULL CHECK (stage IN ('dead_letter')),
  reason     TEXT NOT NULL,
  failed_at  INTEGER NOT NULL,             -- unix ms
  event_row  TEXT NOT NULL                 -- JSON object: column -> value
);
CREATE INDEX ingest_failures_by_tenant ON ingest_failures (tenant_id, failed_at);
