-- The Veeam account client and the RSA records: admin API keys, known app ids, one-time device
-- registration codes and registered devices; the PostgreSQL form of
-- migrations/sqlite/003_vendor_facades.sql. Times are epoch milliseconds; codes only as HMACs.

-- A client the server made for itself; at most one account client per environment (the Veeam facade).
ALTER TABLE clients ADD COLUMN purpose text CHECK (purpose IN ('account'));
CREATE UNIQUE INDEX clients_env_purpose ON clients(env_id, purpose) WHERE purpose IS NOT NULL;

CREATE TABLE admin_keys (
  access_id   text PRIMARY KEY,
  env_id      text NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  description text NOT NULL,
  role        text NOT NULL CHECK (role IN ('super_admin', 'helpdesk_admin')),
  public_key  text NOT NULL,  -- SPKI PEM; the private key is handed to the admin once and never stored
  created_at  bigint NOT NULL,
  revoked_at  bigint
);
CREATE INDEX admin_keys_env ON admin_keys(env_id, created_at);

CREATE TABLE app_ids (
  env_id     text NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  app_id     text NOT NULL,
  name       text NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (env_id, app_id)
);

-- One live code per user (the primary key): a new code replaces the user's unused one.
CREATE TABLE registration_codes (
  user_id    text PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  env_id     text NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  code_hash  text NOT NULL UNIQUE,
  app_id     text NOT NULL,
  expires_at bigint NOT NULL,
  created_at bigint NOT NULL
);
CREATE INDEX registration_codes_expires ON registration_codes(expires_at);

-- The one-registered-device rule is this UNIQUE column, not a check-then-insert.
CREATE TABLE registered_devices (
  id            text PRIMARY KEY,
  env_id        text NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  user_id       text NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
  app_id        text NOT NULL,
  device_name   text NOT NULL,
  platform      text NOT NULL,
  registered_at bigint NOT NULL
);
