-- Environments (tenants), clients, users, device authorizations and signing keys.
-- Times are epoch milliseconds. Codes are stored only as HMAC-SHA-256 hashes (hex).

CREATE TABLE environments (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL UNIQUE,
  company_id    TEXT NOT NULL,
  mfa_licensed  INTEGER NOT NULL DEFAULT 1 CHECK (mfa_licensed IN (0, 1)),
  created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE clients (
  env_id         TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  client_id      TEXT NOT NULL PRIMARY KEY,
  name           TEXT NOT NULL,
  type           TEXT NOT NULL CHECK (type IN ('public', 'confidential')),
  secret_hash    TEXT,
  grant_types    TEXT NOT NULL,  -- JSON array
  scopes         TEXT NOT NULL,  -- JSON array
  code_lifetime  INTEGER NOT NULL CHECK (code_lifetime BETWEEN 1 AND 3600),
  poll_interval  INTEGER NOT NULL CHECK (poll_interval BETWEEN 1 AND 60),
  token_lifetime INTEGER NOT NULL CHECK (token_lifetime > 0),
  audience       TEXT,
  created_at     INTEGER NOT NULL,
  CHECK ((type = 'public') = (secret_hash IS NULL))
) STRICT;
CREATE INDEX clients_env ON clients(env_id);

CREATE TABLE users (
  id            TEXT PRIMARY KEY,
  env_id        TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  username      TEXT NOT NULL,
  email         TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX users_env_username ON users(env_id, username);
CREATE UNIQUE INDEX users_env_email ON users(env_id, lower(email));

CREATE TABLE device_authorizations (
  id               TEXT PRIMARY KEY,
  env_id           TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  client_id        TEXT NOT NULL,
  device_code_hash TEXT NOT NULL UNIQUE,
  user_code_hash   TEXT NOT NULL,
  scope            TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
  expires_at       INTEGER NOT NULL,
  interval         INTEGER NOT NULL,
  last_polled_at   INTEGER,
  user_id          TEXT,
  created_at       INTEGER NOT NULL,
  decided_at       INTEGER
) STRICT;
-- A user code is unique among pending authorizations; the database enforces it, the engine retries.
CREATE UNIQUE INDEX device_live_user_code ON device_authorizations(user_code_hash) WHERE status = 'pending';
CREATE INDEX device_user_code ON device_authorizations(env_id, user_code_hash, created_at);
CREATE INDEX device_expires ON device_authorizations(expires_at);

CREATE TABLE signing_keys (
  kid             TEXT PRIMARY KEY,
  env_id          TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  alg             TEXT NOT NULL CHECK (alg IN ('ES256', 'RS256')),
  public_jwk      TEXT NOT NULL,
  private_jwk_enc TEXT NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('active', 'retired')),
  created_at      INTEGER NOT NULL,
  retired_until   INTEGER
) STRICT;
CREATE INDEX signing_keys_env ON signing_keys(env_id, status);
