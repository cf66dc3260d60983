-- OpenID Connect profile attributes of a user (OpenID Connect Core 1.0 §5.1): name, given_name and
-- family_name (NULL when unset) and email_verified. Users that exist get no names and an
-- unverified email: nobody has vouched for their address yet. updated_at (the `updated_at` claim)
-- already changes on every write of a user.
ALTER TABLE users ADD COLUMN name TEXT;
ALTER TABLE users ADD COLUMN given_name TEXT;
ALTER TABLE users ADD COLUMN family_name TEXT;
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1));
