-- Device policy (README "Device policy", RFC 8628 §5.4): the PostgreSQL form of
-- migrations/sqlite/011_device_policy.sql. Networks and scopes are JSON arrays in text, as the
-- client's scopes are; NULL is no policy of the client's own (the environment's), or no limit.
ALTER TABLE environments ADD COLUMN device_networks text;
ALTER TABLE environments ADD COLUMN device_scopes text;
ALTER TABLE clients ADD COLUMN device_networks text;
ALTER TABLE clients ADD COLUMN device_scopes text;
ALTER TABLE clients ADD COLUMN same_network boolean NOT NULL DEFAULT false;
ALTER TABLE device_authorizations ADD COLUMN source_network text;
ALTER TABLE device_authorizations ADD COLUMN grant_id text;
-- Disabling a user denies the approvals no device has redeemed yet (UserStore.setDisabled): few rows
-- are approved at any moment, so this index stays small and the hot path barely touches it.
CREATE INDEX device_approved_user ON device_authorizations(user_id) WHERE status = 'approved';
