-- Sign-in through the organisation's identity provider (README "Command line"): the PostgreSQL
-- form of migrations/sqlite/013_identity_providers.sql (same tables, columns and indexes).
CREATE TABLE identity_providers (
  env_id            text NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  name              text NOT NULL CHECK (name ~ '^[a-z0-9-]{1,40}$'),
  display_name      text NOT NULL,
  issuer            text NOT NULL,
  client_id         text NOT NULL,
  client_secret_enc text,
  scope             text NOT NULL,
  claim_username    text NOT NULL,
  claim_email       text NOT NULL,
  claim_name        text NOT NULL,
  created_at        bigint NOT NULL,
  PRIMARY KEY (env_id, name)
);

-- A federated person is the pair (issuer, upstream `sub`) (OpenID Connect Core §5.7);
-- federated users have no password (password_hash is ''). Users that exist are password users.
ALTER TABLE users ADD COLUMN idp_issuer text;
ALTER TABLE users ADD COLUMN idp_subject text;
ALTER TABLE users ADD CONSTRAINT users_idp_pair CHECK ((idp_subject IS NULL) = (idp_issuer IS NULL));
CREATE UNIQUE INDEX users_env_idp_subject ON users(env_id, idp_issuer, idp_subject) WHERE idp_issuer IS NOT NULL;
-- An email is unique among password users only.
DROP INDEX users_env_email;
CREATE UNIQUE INDEX users_env_email ON users(env_id, lower(email)) WHERE idp_issuer IS NULL;

ALTER TABLE environments ADD COLUMN password_sign_in boolean NOT NULL DEFAULT true;
