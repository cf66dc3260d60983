-- Verification flows (docs/protocol.md) and the per-source budget of wrong user codes (RFC 8628 §5.1); the
-- PostgreSQL form of migrations/sqlite/002_flows.sql.

CREATE TABLE flows (
  id               text PRIMARY KEY,
  env_id           text NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  client_id        text,              -- set when started at /{envID}/device/{clientId}
  status           text NOT NULL CHECK (status IN ('USERNAME_PASSWORD_REQUIRED', 'DAG_USER_CODE_REQUIRED',
                                                   'DAG_CONSENT_REQUIRED', 'COMPLETED', 'FAILED')),
  browser_hash     text NOT NULL,     -- HMAC of the secret in the browser's HttpOnly cookie
  user_id          text,
  device_id        text,
  user_code_enc    text,              -- the code as typed, AES-GCM encrypted: shown on the consent screen
  failed_attempts  integer NOT NULL DEFAULT 0,
  created_at       bigint NOT NULL,
  updated_at       bigint NOT NULL,
  expires_at       bigint NOT NULL    -- 15 minutes after the last action
);
CREATE INDEX flows_expires ON flows(expires_at);

-- One row per wrong user code, by source address: a sliding window that survives restarts and
-- that a success does not reset.
CREATE TABLE code_guess_failures (
  source  text NOT NULL,
  at      bigint NOT NULL
);
CREATE INDEX code_guess_failures_source ON code_guess_failures(source, at);
