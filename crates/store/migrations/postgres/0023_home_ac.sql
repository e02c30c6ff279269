-- A person's home AC: the AC every one of their memberships is in, or 0 when they hold
-- memberships in several ACs (or none yet, as a user without a membership). Writes only ever
-- move it to 0 (`leave_home_ac`), so 0 is always safe: it means "look at the memberships".
--
-- At 18.1 M people this rewrites every row of people while holding its lock (28.8 min on this
-- project's 2-core machine): plan the upgrade for a quiet hour. btree_gin is a trusted
-- extension (PostgreSQL 13+): the database's owner, or a role with CREATE on it, may add it.
--
-- Why: a name search within an AC found its people through the trigram index all over the
-- state, then kept those with a membership in the AC. At 18.1 M members a short key is in
-- thousands of people state-wide (`rtsn`: 18,129, 60 of them in the AC): reading and seeking
-- each took 237 ms. With the AC in the same GIN index as the key's trigrams (btree_gin), the
-- index answers "this key, home AC X or 0" itself: 13.4 ms for that search.
CREATE EXTENSION IF NOT EXISTS btree_gin;
ALTER TABLE people ADD COLUMN home_ac BIGINT NOT NULL DEFAULT 0;

-- The index goes before the backfill (so the update does not maintain it) and comes back
-- with the AC; while a first load is pending it is left out, and the load's kept definition
-- (meta `deferred_indexes`) is rewritten to build the new form.
DROP INDEX IF EXISTS people_search_trgm;
UPDATE people p SET home_ac = h.ac
  FROM (SELECT person_id, MIN(ac_id) AS ac FROM memberships GROUP BY person_id HAVING MIN(ac_id) = MAX(ac_id)) h
 WHERE h.person_id = p.id;
UPDATE meta SET value = replace(value, 'gin (search_key gin_trgm_ops)', 'gin (home_ac, search_key gin_trgm_ops)')
 WHERE key = 'deferred_indexes';
SET LOCAL maintenance_work_mem = '512MB';
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM meta WHERE key = 'deferred_indexes') THEN
    CREATE INDEX people_search_trgm ON people USING gin (home_ac, search_key gin_trgm_ops);
  ELSIF NOT EXISTS (SELECT 1 FROM meta WHERE key = 'deferred_indexes' AND value LIKE '%gin (home_ac, search_key %') THEN
    -- The kept definition was not in the form rewritten above (pg_trgm in another schema, say).
    RAISE EXCEPTION 'a first load is pending and its kept search index definition could not be rewritten: finish the load with the previous version, then upgrade';
  END IF;
END $$;
-- Every row was rewritten: fresh statistics now; the old row versions are autovacuum's (at
-- 18.1 M people on this project's machine the migration took 28.8 min, a VACUUM after it 1.3 min).
ANALYZE people;
