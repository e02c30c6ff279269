-- The booth-list rewrite no longer finds a sector's daily rows through `unit_daily_ac` (0024):
-- it walks the days that have rows along the table's key and looks the sector's row of each day
-- and wing up (`DELETE_UNIT_DAILY` in crates/store/src/sqlite.rs). Every unit's first count of a
-- day added an entry to that index, at its AC's place: on a 1 M-member file under 64 enrolling
-- clients, ~35 of the ~580 pages each commit wrote to the log (6 %) were this index's.
DROP INDEX IF EXISTS unit_daily_ac;
