-- A commit-ordered read position for the event log (the outbox).
--
-- `seq` comes from a sequence, and sequence order is not commit order: a transaction that took
-- seq 10 can commit after one that took seq 11, so a reader that remembers "the last seq seen"
-- can skip seq 10 forever. Each event therefore also records the id of the transaction that
-- wrote it. A reader takes only events of transactions older than its snapshot's xmin (every
-- one of those has finished, so nothing can still commit behind the reader), in (tx, seq)
-- order, and remembers the pair (tx, seq) as its position. See `repo::events::read_after`.
ALTER TABLE events ADD COLUMN tx xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX events_positions ON events (tx, seq);
