-- Sectors keep per-day counts too (an AC's roll-up then reads its sectors' last 7 days instead of
-- counting ~45,000 memberships at 18 M): backfilled from the memberships already held.
INSERT INTO unit_daily (unit_id, wing_id, day, n)
SELECT b.parent_id, m.wing_id, m.enrolled_on, COUNT(*)
  FROM memberships m JOIN units b ON b.id = m.unit_id
 WHERE b.kind = 'booth' AND b.parent_id IS NOT NULL AND m.status IN ('pending', 'verified')
 GROUP BY b.parent_id, m.wing_id, m.enrolled_on;

-- A division's, district's or the state's ACs, found by index instead of a scan of ~190,000 units
-- (it was 16 ms of every state-wide search at 18 M).
CREATE INDEX units_kind_state ON units (kind, state_id);
CREATE INDEX units_kind_division ON units (kind, division_id);
CREATE INDEX units_kind_district ON units (kind, district_id);
