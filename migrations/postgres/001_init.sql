-- Environments (tenants), clients, users, device authorizations and signing keys: the PostgreSQL
-- form of migrations/sqlite/001_init.sql (same tables, columns and indexes; keep them in step).
-- Times are epoch milliseconds (bigint). Codes are stored only as HMAC-SHA-256 hashes (hex).

CREATE TABLE environments (
  id            text PRIMARY KEY,
  name          text NOT NULL UNIQUE,
  company_id    text NOT NULL,
  mfa_licensed  boolean NOT NULL DEFAULT true,
  created_at    bigint NOT NULL
);

CREATE TABLE clients (
  env_id         text NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  client_id      text NOT NULL PRIMARY KEY,
  name           text NOT NULL,
  type           text NOT NULL CHECK (type IN ('public', 'confidential')),
  secret_hash    text,
  grant_types    text NOT NULL,  -- JSON array, as in SQLite (read and written whole)
  scopes         text NOT NULL,  -- JSON array
  code_lifetime  integer NOT NULL CHECK (code_lifetime BETWEEN 1 AND 3600),
  poll_interval  integer NOT NULL CHECK (poll_interval BETWEEN 1 AND 60),
  token_lifetime integer NOT NULL CHECK (token_lifetime > 0),
  audience       text,
  created_at     bigint NOT NULL,
  CHECK ((type = 'public') = (secret_hash IS NULL))
);
CREATE INDEX clients_env ON clients(env_id);

CREATE TABLE users (
  id            text PRIMARY KEY,
  env_id        text NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  username      text NOT NULL,
  email         text NOT NULL,
  password_hash text NOT NULL,
  disabled      boolean NOT NULL DEFAULT false,
  created_at    bigint NOT NULL,
  updated_at    bigint NOT NULL
);
CREATE UNIQUE INDEX users_env_username ON users(env_id, username);
CREATE UNIQUE INDEX users_env_email ON users(env_id, lower(email));

CREATE TABLE device_authorizations (
  id               text PRIMARY KEY,
  env_id           text NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  client_id        text NOT NULL,
  device_code_hash text NOT NULL UNIQUE,
  user_code_hash   text NOT NULL,
  scope            text NOT NULL,
  status           text NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
  expires_at       bigint NOT NULL,
  "interval"       integer NOT NULL,
  last_polled_at   bigint,
  user_id          text,
  created_at       bigint NOT NULL,
  decided_at       bigint
);
-- A user code is unique among pending authorizations; the database enforces it, the engine retries.
CREATE UNIQUE INDEX device_live_user_code ON device_authorizations(user_code_hash) WHERE status = 'pending';
CREATE INDEX device_user_code ON device_authorizations(env_id, user_code_hash, created_at);
CREATE INDEX device_expires ON device_authorizations(expires_at);

CREATE TABLE signing_keys (
  kid             text PRIMARY KEY,
  env_id          text NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  alg             text NOT NULL CHECK (alg IN ('ES256', 'RS256')),
  public_jwk      text NOT NULL,
  private_jwk_enc text NOT NULL,
  status          text NOT NULL CHECK (status IN ('active', 'retired')),
  created_at      bigint NOT NULL,
  retired_until   bigint
);
CREATE INDEX signing_keys_env ON signing_keys(env_id, status);
