-- The PostgreSQL form of migrations/sqlite/006_user_code_index.sql: one index on the user-code hash
-- instead of two, so each device authorization writes one B-tree fewer. Its second key is 1 for a
-- pending code and NULL otherwise; NULLs are distinct in a UNIQUE index, so a user code is still
-- unique among pending authorizations only (docs/protocol.md), and the lookup of a code in any state
-- searches the same index by its first column. The name stays: a conflict is recognised by it.
DROP INDEX device_live_user_code;
DROP INDEX device_user_code;
CREATE UNIQUE INDEX device_live_user_code ON device_authorizations (user_code_hash, (CASE WHEN status = 'pending' THEN 1 END));
