-- One index on the user-code hash instead of two: each device authorization writes one B-tree
-- fewer (about a third less work per INSERT, bench/RESULTS.md). Its second key is 1 for a pending
-- code and NULL otherwise; NULLs never collide in a UNIQUE index, so a user code is still unique
-- among pending authorizations only (docs/protocol.md), and the lookup of a code in any state (the page
-- says "expired" or "already used") searches the same index by its first column. The name stays:
-- a conflict is recognised by it.
DROP INDEX device_live_user_code;
DROP INDEX device_user_code;
CREATE UNIQUE INDEX device_live_user_code ON device_authorizations(user_code_hash, (CASE WHEN status = 'pending' THEN 1 END));
