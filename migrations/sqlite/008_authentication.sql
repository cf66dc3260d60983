-- How the person who approved signed in (OpenID Connect Core §2: auth_time, amr, acr), carried from
-- the verification flow's sign-in to the device authorization it approves, then to the grant, so an
-- ID token says it at redemption and again at every refresh. amr is a JSON array of RFC 8176 values.
ALTER TABLE flows ADD COLUMN auth_time INTEGER;
ALTER TABLE flows ADD COLUMN auth_amr TEXT;
ALTER TABLE flows ADD COLUMN auth_acr TEXT;
ALTER TABLE device_authorizations ADD COLUMN auth_time INTEGER;
ALTER TABLE device_authorizations ADD COLUMN auth_amr TEXT;
ALTER TABLE device_authorizations ADD COLUMN auth_acr TEXT;
ALTER TABLE grants ADD COLUMN auth_time INTEGER;
ALTER TABLE grants ADD COLUMN auth_amr TEXT;
ALTER TABLE grants ADD COLUMN auth_acr TEXT;
