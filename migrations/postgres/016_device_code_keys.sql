-- Nothing changes here: migrations/sqlite/016_device_code_keys.sql makes a SQLite row's rowid the
-- key of its device code's hash, so that a poll descends one B-tree instead of two. PostgreSQL keeps
-- its rows in a heap, not in a B-tree by rowid: the hash's index points at the row's page, and
-- there is no second descent to save. The version is kept in step.
SELECT 1;
