-- The audit trail: an append-only record per security event, written in the transaction of the
-- change it describes (docs/architecture.md, "Audit trail"), and the durable outbox of the audit
-- webhook: a row per event while delivery is on, in order (seq) per environment, removed once
-- delivered. Events are swept after AUDIT_RETENTION_DAYS.
CREATE TABLE audit_events (
  id       TEXT PRIMARY KEY,      -- UUIDv7
  env_id   TEXT NOT NULL,
  at       INTEGER NOT NULL,
  type     TEXT NOT NULL,
  actor    TEXT,
  subject  TEXT,
  source   TEXT,                  -- JSON RequestContext
  outcome  TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
  details  TEXT NOT NULL          -- JSON object
) STRICT;
CREATE INDEX audit_events_at ON audit_events(at);
CREATE INDEX audit_events_env_at ON audit_events(env_id, at);

CREATE TABLE audit_outbox (
  seq              INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id         TEXT NOT NULL,
  env_id           TEXT NOT NULL,
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX audit_outbox_env_seq ON audit_outbox(env_id, seq);
