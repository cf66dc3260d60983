-- Where a device authorization came from and where the person who decided it was (RFC 8628 §5.4,
-- README "Where a request came from"): the source address (under TRUST_PROXY, the client's), the
-- shortened User-Agent, and the address's country (ISO 3166-1 alpha-2) and network (autonomous
-- system number and name) from the offline IP databases. The consent screen shows the request's,
-- warns when the approver's country or network differs (location_mismatch records that it did),
-- and "I didn't start this" denies the request and sets reported_at. The other columns are null
-- when unknown, and for rows from before this migration (location_mismatch is false then).
ALTER TABLE device_authorizations ADD COLUMN request_address TEXT;
ALTER TABLE device_authorizations ADD COLUMN request_user_agent TEXT;
ALTER TABLE device_authorizations ADD COLUMN request_country TEXT;
ALTER TABLE device_authorizations ADD COLUMN request_asn BIGINT;
ALTER TABLE device_authorizations ADD COLUMN request_network TEXT;
ALTER TABLE device_authorizations ADD COLUMN approver_address TEXT;
ALTER TABLE device_authorizations ADD COLUMN approver_user_agent TEXT;
ALTER TABLE device_authorizations ADD COLUMN approver_country TEXT;
ALTER TABLE device_authorizations ADD COLUMN approver_asn BIGINT;
ALTER TABLE device_authorizations ADD COLUMN approver_network TEXT;
ALTER TABLE device_authorizations ADD COLUMN location_mismatch boolean NOT NULL DEFAULT false;
ALTER TABLE device_authorizations ADD COLUMN reported_at BIGINT;
