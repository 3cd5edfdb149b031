-- A commit-ordered read position for the event log: nothing to add on SQLite.
--
-- PostgreSQL records each event's transaction id here, because its `seq` order is not commit
-- order. SQLite has one writer at a time and `seq` is AUTOINCREMENT (never reused, always
-- growing), so seq order is commit order and the position is `seq` itself, served by the
-- existing `events_list (workspace_id, seq)` index and the primary key. This file keeps the
-- migration versions of both backends equal.
SELECT 1;
