-- `contains` / `startswith` / `endswith` on a record's title, indexed on SQLite: an FTS5 table
-- with the trigram tokenizer holds every record's title_search, and GLOB over it (exact,
-- index-assisted for needles of three or more characters) finds the matching records without
-- reading the whole list. (PostgreSQL has its pg_trgm index from 0004.)
--
-- FTS rows are keyed by `records.search_key`, a plain column, not the implicit rowid, which
-- VACUUM may renumber in a table whose key is not an INTEGER PRIMARY KEY.
ALTER TABLE records ADD COLUMN search_key INTEGER;
UPDATE records SET search_key = rowid;
CREATE UNIQUE INDEX records_search_key ON records (search_key);
CREATE VIRTUAL TABLE records_fts USING fts5(title_search, tokenize = 'trigram');
INSERT INTO records_fts (rowid, title_search) SELECT search_key, title_search FROM records;

CREATE TRIGGER records_fts_insert AFTER INSERT ON records BEGIN
    UPDATE records SET search_key = (SELECT COALESCE(MAX(search_key), 0) + 1 FROM records)
    WHERE rowid = new.rowid;
    INSERT INTO records_fts (rowid, title_search)
    VALUES ((SELECT search_key FROM records WHERE rowid = new.rowid), new.title_search);
END;

CREATE TRIGGER records_fts_update AFTER UPDATE OF title_search ON records BEGIN
    UPDATE records_fts SET title_search = new.title_search WHERE rowid = old.search_key;
END;

CREATE TRIGGER records_fts_delete AFTER DELETE ON records BEGIN
    DELETE FROM records_fts WHERE rowid = old.search_key;
END;
