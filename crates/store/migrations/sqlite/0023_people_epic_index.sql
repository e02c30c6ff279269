-- no-transaction
-- People's EPIC uniqueness becomes a named index, `people_epic`, instead of a column constraint
-- (`epic TEXT UNIQUE`), so that a first load can leave it out and build it after its rows, as it
-- does people's (mobile, name key) index (docs/first-load.md). SQLite cannot drop a column
-- constraint's index, so the table is rebuilt: SQLite's documented procedure, with foreign keys
-- off while the old table is dropped (hence no transaction around this file; it opens its own).
-- The same rows, ids and columns; its indexes and the search index's triggers made again. On a
-- loaded database this copies every person and rebuilds people's indexes: minutes at 18 M.
--
-- Not while a first load is pending (its kept definitions would make these indexes a second
-- time): finish it with the previous version first (run the import again, or `verify`). The
-- CHECK below fails this migration ("CHECK constraint failed: first_load_pending = 0"), with
-- nothing changed, when one is.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TEMP TABLE finish_the_pending_first_load_first (first_load_pending INTEGER CHECK (first_load_pending = 0));
INSERT INTO finish_the_pending_first_load_first SELECT COUNT(*) FROM meta WHERE key = 'deferred_indexes';
DROP TABLE finish_the_pending_first_load_first;
CREATE TABLE people_new (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    name_key   TEXT    NOT NULL,
    gender     TEXT CHECK (gender IN ('M','F','O')),
    birth_year INTEGER,
    address    TEXT,
    mobile     TEXT,
    epic       TEXT,
    unit_id    INTEGER NOT NULL REFERENCES units(id),
    created_at TEXT    NOT NULL,
    search_key TEXT NOT NULL DEFAULT '',
    merged_into INTEGER REFERENCES people(id),
    consent_notice TEXT NOT NULL DEFAULT 'v1',
    consent_purposes TEXT NOT NULL DEFAULT 'membership',
    consent_by TEXT NOT NULL DEFAULT 'enroller',
    consent_withdrawn_at TEXT,
    erased_at TEXT,
    CHECK (mobile IS NOT NULL OR epic IS NOT NULL OR merged_into IS NOT NULL OR erased_at IS NOT NULL)
);
INSERT INTO people_new (id, name, name_key, gender, birth_year, address, mobile, epic, unit_id, created_at, search_key,
                        merged_into, consent_notice, consent_purposes, consent_by, consent_withdrawn_at, erased_at)
SELECT id, name, name_key, gender, birth_year, address, mobile, epic, unit_id, created_at, search_key,
       merged_into, consent_notice, consent_purposes, consent_by, consent_withdrawn_at, erased_at
FROM people;
DROP TABLE people;
ALTER TABLE people_new RENAME TO people;
CREATE UNIQUE INDEX people_epic ON people (epic);
-- One person per (mobile, name key); NULL mobiles never collide.
CREATE UNIQUE INDEX people_mobile_name ON people (mobile, name_key);
CREATE INDEX people_search_key ON people (search_key);
CREATE INDEX people_unit_name ON people (unit_id, name_key);
CREATE TRIGGER people_fts_insert AFTER INSERT ON people BEGIN
    INSERT INTO people_fts (rowid, search_key) VALUES (new.id, new.search_key);
END;
CREATE TRIGGER people_fts_delete AFTER DELETE ON people BEGIN
    INSERT INTO people_fts (people_fts, rowid, search_key) VALUES ('delete', old.id, old.search_key);
END;
CREATE TRIGGER people_fts_update AFTER UPDATE OF search_key ON people BEGIN
    INSERT INTO people_fts (people_fts, rowid, search_key) VALUES ('delete', old.id, old.search_key);
    INSERT INTO people_fts (rowid, search_key) VALUES (new.id, new.search_key);
END;
COMMIT;
PRAGMA foreign_keys = ON;
