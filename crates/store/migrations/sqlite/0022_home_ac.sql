-- A person's home AC: the AC every one of their memberships is in, or 0 when they hold
-- memberships in several ACs, or none yet, or it was never worked out. Writes only ever move
-- it to 0 (`leave_home_ac`), so 0 is always safe: it means "look at the memberships".
-- PostgreSQL's name search within an AC reads it from its trigram index (see its migration
-- 0023); SQLite's search finds people through FTS5 and does not read it, so existing rows
-- are not backfilled here (0 for all of them), and new rows keep it as PostgreSQL does.
ALTER TABLE people ADD COLUMN home_ac INTEGER NOT NULL DEFAULT 0;
