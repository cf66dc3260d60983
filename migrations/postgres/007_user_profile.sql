-- OpenID Connect profile attributes of a user (OpenID Connect Core 1.0 §5.1): the PostgreSQL form
-- of migrations/sqlite/007_user_profile.sql. Users that exist get no names and an unverified email.
ALTER TABLE users ADD COLUMN name text;
ALTER TABLE users ADD COLUMN given_name text;
ALTER TABLE users ADD COLUMN family_name text;
ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;
