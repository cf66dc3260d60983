-- The audit trail: an append-only record per security event, written in the transaction of the
-- change it describes (docs/architecture.md, "Audit trail"), and the durable outbox of the audit
-- webhook: a row per event while delivery is on, in order (seq) per environment, removed once
-- delivered. Events are swept after AUDIT_RETENTION_DAYS.
CREATE TABLE audit_events (
  id       text PRIMARY KEY,      -- UUIDv7
  env_id   text NOT NULL,
  at       bigint NOT NULL,
  type     text NOT NULL,
  actor    text,
  subject  text,
  source   text,                  -- JSON RequestContext
  outcome  text NOT NULL CHECK (outcome IN ('success', 'failure')),
  details  text NOT NULL          -- JSON object
);
CREATE INDEX audit_events_at ON audit_events(at);
CREATE INDEX audit_events_env_at ON audit_events(env_id, at);

CREATE TABLE audit_outbox (
  seq              bigserial PRIMARY KEY,
  event_id         text NOT NULL,
  env_id           text NOT NULL,
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  bigint NOT NULL DEFAULT 0
);
CREATE INDEX audit_outbox_env_seq ON audit_outbox(env_id, seq);
