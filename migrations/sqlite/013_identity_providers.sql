-- Sign-in through the organisation's identity provider (README "Command line"): the upstream
-- OpenID Providers of each environment, whose relying party this server is (OpenID Connect Core
-- §3.1). The client secret is AES-GCM encrypted with the server secret; NULL for a public client
-- (PKCE only). `claim_*` name the upstream claims that fill a user's username, email and name.
CREATE TABLE identity_providers (
  env_id            TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  name              TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 40 AND name NOT GLOB '*[^a-z0-9-]*'),
  display_name      TEXT NOT NULL,
  issuer            TEXT NOT NULL,
  client_id         TEXT NOT NULL,
  client_secret_enc TEXT,
  scope             TEXT NOT NULL,
  claim_username    TEXT NOT NULL,
  claim_email       TEXT NOT NULL,
  claim_name        TEXT NOT NULL,
  created_at        INTEGER NOT NULL,
  PRIMARY KEY (env_id, name)
) STRICT;

-- A federated person is the pair (issuer, upstream `sub`), never an email alone and never the
-- provider's name here (OpenID Connect Core §5.7): unique per environment. A name removed and added
-- again for another issuer reaches other people; the same issuer under a new name, the same ones.
-- Federated users have no password (password_hash is '', which no password verifies). Users that
-- exist are password users (both NULL).
ALTER TABLE users ADD COLUMN idp_issuer TEXT;
ALTER TABLE users ADD COLUMN idp_subject TEXT CHECK ((idp_subject IS NULL) = (idp_issuer IS NULL));
CREATE UNIQUE INDEX users_env_idp_subject ON users(env_id, idp_issuer, idp_subject) WHERE idp_issuer IS NOT NULL;
-- An email is unique among password users only: two people with one address at two providers
-- are two users, and an upstream's address never blocks (or takes over) a local account.
DROP INDEX users_env_email;
CREATE UNIQUE INDEX users_env_email ON users(env_id, lower(email)) WHERE idp_issuer IS NULL;

-- Whether people may sign in with a password on the verification page (on for every environment
-- that exists).
ALTER TABLE environments ADD COLUMN password_sign_in INTEGER NOT NULL DEFAULT 1 CHECK (password_sign_in IN (0, 1));
