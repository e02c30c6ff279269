-- The identity columns (mobile, EPIC, name key, membership number) are codes, compared for
-- equality and ordered only to build and search their indexes. Under the database's C.UTF-8
-- collation PostgreSQL compares them through strcoll() and cannot sort by abbreviated keys; "C"
-- compares bytes. The two orders are the same (C.UTF-8 orders by code point, and UTF-8's bytes
-- sort in code-point order), so every result stays as it was, and on a 1 M load COPY into people was ~10 % faster
-- and the (mobile, name_key) index built in 0.85 s against 1.8 s. The table is not rewritten; its
-- indexes on these columns are rebuilt.
ALTER TABLE people
    ALTER COLUMN mobile TYPE TEXT COLLATE "C",
    ALTER COLUMN epic TYPE TEXT COLLATE "C",
    ALTER COLUMN name_key TYPE TEXT COLLATE "C";
ALTER TABLE memberships ALTER COLUMN number TYPE TEXT COLLATE "C";
