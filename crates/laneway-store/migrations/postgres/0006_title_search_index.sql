-- SQLite gains a trigram FTS index on record titles in this version; PostgreSQL has had its
-- pg_trgm index since 0004. This file keeps the migration versions of both backends equal.
SELECT 1;
