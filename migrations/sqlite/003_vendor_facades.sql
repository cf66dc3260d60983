-- The Veeam account client and the RSA records: admin API keys, known app ids, one-time device
-- registration codes and registered devices. Times are epoch milliseconds; codes only as HMACs.

-- A client the server made for itself; at most one account client per environment (the Veeam facade).
ALTER TABLE clients ADD COLUMN purpose TEXT CHECK (purpose IN ('account'));
CREATE UNIQUE INDEX clients_env_purpose ON clients(env_id, purpose) WHERE purpose IS NOT NULL;

CREATE TABLE admin_keys (
  access_id   TEXT PRIMARY KEY,
  env_id      TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  description TEXT NOT NULL,
  role        TEXT NOT NULL CHECK (role IN ('super_admin', 'helpdesk_admin')),
  public_key  TEXT NOT NULL,  -- SPKI PEM; the private key is handed to the admin once and never stored
  created_at  INTEGER NOT NULL,
  revoked_at  INTEGER
) STRICT;
CREATE INDEX admin_keys_env ON admin_keys(env_id, created_at);

CREATE TABLE app_ids (
  env_id     TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  app_id     TEXT NOT NULL,
  name       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (env_id, app_id)
) STRICT;

-- One live code per user (the primary key): a new code replaces the user's unused one.
CREATE TABLE registration_codes (
  user_id    TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  env_id     TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  code_hash  TEXT NOT NULL UNIQUE,
  app_id     TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX registration_codes_expires ON registration_codes(expires_at);

-- The one-registered-device rule is this UNIQUE column, not a check-then-insert.
CREATE TABLE registered_devices (
  id            TEXT PRIMARY KEY,
  env_id        TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  user_id       TEXT NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
  app_id        TEXT NOT NULL,
  device_name   TEXT NOT NULL,
  platform      TEXT NOT NULL,
  registered_at INTEGER NOT NULL
) STRICT;
