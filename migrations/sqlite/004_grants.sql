-- Staying signed in (RFC 6749 §6, RFC 9700 §4.14): grants (one approval each), their refresh tokens (keyed hashes,
-- one family per grant), and the access tokens revoked before they expire.

-- Per-client refresh settings: always issue a refresh token (not only for offline_access), rotate
-- on every use (public clients always do), idle and absolute lifetimes of a grant.
ALTER TABLE clients ADD COLUMN refresh_always INTEGER NOT NULL DEFAULT 0 CHECK (refresh_always IN (0, 1));
ALTER TABLE clients ADD COLUMN refresh_rotation INTEGER NOT NULL DEFAULT 1 CHECK (refresh_rotation IN (0, 1));
ALTER TABLE clients ADD COLUMN refresh_idle_seconds INTEGER NOT NULL DEFAULT 2592000 CHECK (refresh_idle_seconds > 0);
ALTER TABLE clients ADD COLUMN refresh_absolute_seconds INTEGER NOT NULL DEFAULT 7776000 CHECK (refresh_absolute_seconds > 0);

CREATE TABLE grants (
  id                  TEXT PRIMARY KEY,
  env_id              TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  user_id             TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  -- Deleting the client ends its grants.
  client_id           TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
  kind                TEXT NOT NULL CHECK (kind IN ('device', 'session')),
  scope               TEXT NOT NULL,
  created_at          INTEGER NOT NULL,
  last_used_at        INTEGER NOT NULL,
  idle_expires_at     INTEGER NOT NULL,
  absolute_expires_at INTEGER NOT NULL,
  revoked_at          INTEGER
) STRICT;
CREATE INDEX grants_user ON grants(env_id, user_id, created_at);
CREATE INDEX grants_expiry ON grants(absolute_expires_at);

-- Every refresh token a grant has had: the live one is 'active', the ones refreshes replaced
-- 'rotated', and 'superseded' one a retry within the reuse grace replaced (its answer was lost);
-- kept so that presenting one again is recognised as reuse.
CREATE TABLE refresh_tokens (
  token_hash  TEXT PRIMARY KEY,
  grant_id    TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
  status      TEXT NOT NULL CHECK (status IN ('active', 'rotated', 'superseded')),
  created_at  INTEGER NOT NULL,
  rotated_at  INTEGER
) STRICT;
CREATE INDEX refresh_tokens_grant ON refresh_tokens(grant_id);

-- Access tokens revoked before they expire (RFC 7009), by jti, until they would have expired.
CREATE TABLE revoked_access_tokens (
  jti        TEXT PRIMARY KEY,
  env_id     TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX revoked_access_tokens_expiry ON revoked_access_tokens(expires_at);
