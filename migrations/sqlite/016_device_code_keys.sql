-- A device authorization's rowid is its key: the first 52 bits of its device code's hash, so a
-- poll finds the row in one descent of the table instead of the hash's index and then the table
-- (src/store/sqlite/device-authorizations.ts, rowKey). The hash's index then has nothing to do for
-- a keyed row, whose hash its key already makes unique; it is kept, partial, for the rows that are
-- not keyed: those from before this migration and the rare row whose key another row holds. Those
-- rows have negative rowids, which no key is: this migration negates each existing row's rowid.
--
-- A column's UNIQUE cannot be dropped in place, so the table is rebuilt with the same columns (in
-- the same order, the later ALTERs' included) and the same indexes. No table refers to this one.
CREATE TABLE device_authorizations_keyed (
  id                  TEXT PRIMARY KEY,
  env_id              TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  client_id           TEXT NOT NULL,
  device_code_hash    TEXT NOT NULL,
  user_code_hash      TEXT NOT NULL,
  scope               TEXT NOT NULL,
  status              TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
  expires_at          INTEGER NOT NULL,
  interval            INTEGER NOT NULL,
  last_polled_at      INTEGER,
  user_id             TEXT,
  created_at          INTEGER NOT NULL,
  decided_at          INTEGER,
  auth_time           INTEGER,
  auth_amr            TEXT,
  auth_acr            TEXT,
  request_address     TEXT,
  request_user_agent  TEXT,
  request_country     TEXT,
  request_asn         INTEGER,
  request_network     TEXT,
  approver_address    TEXT,
  approver_user_agent TEXT,
  approver_country    TEXT,
  approver_asn        INTEGER,
  approver_network    TEXT,
  location_mismatch   INTEGER NOT NULL DEFAULT 0 CHECK (location_mismatch IN (0, 1)),
  reported_at         INTEGER,
  source_network      TEXT,
  grant_id            TEXT
) STRICT;

INSERT INTO device_authorizations_keyed (rowid, id, env_id, client_id, device_code_hash, user_code_hash, scope, status, expires_at,
  interval, last_polled_at, user_id, created_at, decided_at, auth_time, auth_amr, auth_acr, request_address, request_user_agent,
  request_country, request_asn, request_network, approver_address, approver_user_agent, approver_country, approver_asn,
  approver_network, location_mismatch, reported_at, source_network, grant_id)
SELECT -rowid, id, env_id, client_id, device_code_hash, user_code_hash, scope, status, expires_at,
  interval, last_polled_at, user_id, created_at, decided_at, auth_time, auth_amr, auth_acr, request_address, request_user_agent,
  request_country, request_asn, request_network, approver_address, approver_user_agent, approver_country, approver_asn,
  approver_network, location_mismatch, reported_at, source_network, grant_id
FROM device_authorizations;

DROP TABLE device_authorizations;
ALTER TABLE device_authorizations_keyed RENAME TO device_authorizations;

CREATE UNIQUE INDEX device_live_user_code ON device_authorizations(user_code_hash, (CASE WHEN status = 'pending' THEN 1 END));
CREATE INDEX device_expires ON device_authorizations(expires_at);
CREATE INDEX device_approved_user ON device_authorizations(user_id) WHERE status = 'approved';
CREATE UNIQUE INDEX device_unkeyed_code ON device_authorizations(device_code_hash) WHERE rowid < 0;
