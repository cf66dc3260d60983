-- Verification flows (docs/protocol.md) and the per-source budget of wrong user codes (RFC 8628 §5.1).

CREATE TABLE flows (
  id               TEXT PRIMARY KEY,
  env_id           TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  client_id        TEXT,              -- set when started at /{envID}/device/{clientId}
  status           TEXT NOT NULL CHECK (status IN ('USERNAME_PASSWORD_REQUIRED', 'DAG_USER_CODE_REQUIRED',
                                                   'DAG_CONSENT_REQUIRED', 'COMPLETED', 'FAILED')),
  browser_hash     TEXT NOT NULL,     -- HMAC of the secret in the browser's HttpOnly cookie
  user_id          TEXT,
  device_id        TEXT,
  user_code_enc    TEXT,              -- the code as typed, AES-GCM encrypted: shown on the consent screen
  failed_attempts  INTEGER NOT NULL DEFAULT 0,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  expires_at       INTEGER NOT NULL   -- 15 minutes after the last action
) STRICT;
CREATE INDEX flows_expires ON flows(expires_at);

-- One row per wrong user code, by source address: a sliding window that survives restarts and
-- that a success does not reset.
CREATE TABLE code_guess_failures (
  source  TEXT NOT NULL,
  at      INTEGER NOT NULL
) STRICT;
CREATE INDEX code_guess_failures_source ON code_guess_failures(source, at);
