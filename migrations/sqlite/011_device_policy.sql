-- Device policy (README "Device policy", RFC 8628 §5.4): per client, the networks its device
-- authorizations must come from (a JSON array of canonical CIDRs), the most a device login may ask
-- for (a JSON array of scopes), and whether the approver must be on the device's network; per
-- environment, the networks and scopes that apply to clients that set none (NULL: no limit). A
-- device authorization keeps the network key of its requester (src/core/networks.ts) for that
-- comparison, and, once redeemed, the grant it opened: a consumed code presented again ends that
-- grant (RFC 6749 §4.1.2). Rows that exist get no policy, no network and no grant.
ALTER TABLE environments ADD COLUMN device_networks TEXT;
ALTER TABLE environments ADD COLUMN device_scopes TEXT;
ALTER TABLE clients ADD COLUMN device_networks TEXT;
ALTER TABLE clients ADD COLUMN device_scopes TEXT;
ALTER TABLE clients ADD COLUMN same_network INTEGER NOT NULL DEFAULT 0 CHECK (same_network IN (0, 1));
ALTER TABLE device_authorizations ADD COLUMN source_network TEXT;
ALTER TABLE device_authorizations ADD COLUMN grant_id TEXT;
-- Disabling a user denies the approvals no device has redeemed yet (UserStore.setDisabled): few rows
-- are approved at any moment, so this index stays small and the hot path barely touches it.
CREATE INDEX device_approved_user ON device_authorizations(user_id) WHERE status = 'approved';
