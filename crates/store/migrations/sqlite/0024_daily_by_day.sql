-- Per-day counters kept in day order. An enrolment adds to six daily rows (its sector's, AC's,
-- PC's, district's, division's and the state's, for today); keyed by unit first, each of those
-- rows sat on a page of its own unit's days, so a group of 31 enrolments committed about 130
-- pages of this table, each written whole to the log (a quarter of all the pages an enrolment
-- writes, measured on a 1 M-member file). Keyed by day first, today's rows are one short run of
-- pages. A unit's last 7 days are then seven look-ups, one per day (`figures_sql`). The
-- booth-list rewrite of an AC, which replaces its sectors' rows, finds them through
-- `unit_daily_ac` (every row of a sector is keyed by its own AC); that index changes only when a
-- row is added (a unit's first count of a day), not as the counts grow, and it cannot serve the
-- look-ups by unit and day, which the key serves.
CREATE TABLE unit_daily_by_day (
    unit_id  INTEGER NOT NULL,
    wing_id  INTEGER NOT NULL,
    day      TEXT    NOT NULL,
    ac_id    INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    verified INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, wing_id, unit_id, ac_id)
) WITHOUT ROWID;

INSERT INTO unit_daily_by_day (unit_id, wing_id, day, ac_id, n, verified)
SELECT unit_id, wing_id, day, ac_id, n, verified FROM unit_daily ORDER BY day, wing_id, unit_id, ac_id;

DROP TABLE unit_daily;
ALTER TABLE unit_daily_by_day RENAME TO unit_daily;
CREATE INDEX unit_daily_ac ON unit_daily (ac_id);
