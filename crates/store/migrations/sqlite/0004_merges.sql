-- Merging duplicates without losing anything. A merged record stays as history: `merged_into`
-- names the person it was merged into, its identifiers move to that person or are cleared (and
-- kept in the merge's snapshot), so the identity rule and the unique indexes never see it again.
ALTER TABLE people ADD COLUMN merged_into INTEGER REFERENCES people(id);

-- A merged record may hold neither mobile nor EPIC. SQLite cannot alter a CHECK constraint, so the
-- table's definition is edited in place: the documented procedure for loosening a CHECK
-- (https://sqlite.org/lang_altertable.html, "making other kinds of table schema changes"). No row
-- is rewritten (every existing row satisfies the looser rule); RESET reloads this connection's
-- schema and the CREATE TABLE below bumps the schema cookie so that every other connection does.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, 'CHECK (mobile IS NOT NULL OR epic IS NOT NULL)',
                          'CHECK (mobile IS NOT NULL OR epic IS NOT NULL OR merged_into IS NOT NULL)')
 WHERE type = 'table' AND name = 'people';
PRAGMA writable_schema = RESET;
-- Fail the migration (NOT NULL) rather than go on if the definition was not what we expected.
INSERT INTO meta (key, value)
SELECT 'migration_0004_people_check', NULL
 WHERE NOT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'people'
                      AND sql LIKE '%OR epic IS NOT NULL OR merged_into IS NOT NULL)%');

-- Same name and birth year in one booth: the duplicate review's self-join.
CREATE INDEX people_unit_name ON people (unit_id, name_key);

-- Every merge, with who and when, and the snapshot an undo needs (JSON): the merged record's
-- identifiers before, which moved, and each of its memberships with its previous status and
-- person and what was done to it.
CREATE TABLE merges (
    id        INTEGER PRIMARY KEY,
    from_id   INTEGER NOT NULL REFERENCES people(id),
    into_id   INTEGER NOT NULL REFERENCES people(id),
    actor     TEXT    NOT NULL,
    merged_at TEXT    NOT NULL,
    undone_at TEXT,
    undone_by TEXT,
    snapshot  TEXT    NOT NULL
);
CREATE INDEX merges_from ON merges (from_id);
CREATE INDEX merges_into ON merges (into_id);
