-- Indexes for statements that read a whole growing table without them; the PostgreSQL form of
-- migrations/sqlite/005_sweep_indexes.sql (where the query-plan check found each one).

-- Deleting a client ends its grants (ON DELETE CASCADE): found by client, not by scanning grants.
CREATE INDEX grants_client ON grants(client_id);
-- The sweeper's grant DELETE (revoked, idle-expired or past their absolute lifetime) as a union of
-- three index lookups; the revoked ones are few and have an index of their own.
CREATE INDEX grants_idle_expiry ON grants(idle_expires_at);
CREATE INDEX grants_revoked ON grants(revoked_at) WHERE revoked_at IS NOT NULL;
-- The sweeper's DELETE of guesses older than their retention.
CREATE INDEX code_guess_failures_at ON code_guess_failures(at);
