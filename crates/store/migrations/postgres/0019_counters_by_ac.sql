-- Enrolment counters keyed by the AC of the memberships they count. A unit above AC level (the
-- state, a division, a district, a PC) keeps one row per AC below it, and its figure is their
-- sum; an AC, sector or booth has one row, its own AC's. An enrolment then writes only rows of
-- its own AC: on PostgreSQL enrolments in different ACs never wait on one another's row locks
-- (the state's single row serialised every writer), and the AC is the distribution key of a
-- sharded deployment (docs/scale-out.md). The existing rows are re-keyed exactly: AC level and
-- below keep their figures; above it, each unit's figures are its ACs' figures.
CREATE TABLE unit_counters_by_ac (
    unit_id  BIGINT NOT NULL,
    wing_id  BIGINT NOT NULL,
    ac_id    BIGINT NOT NULL,
    achieved BIGINT NOT NULL,
    verified BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (unit_id, wing_id, ac_id)
);

INSERT INTO unit_counters_by_ac (unit_id, wing_id, ac_id, achieved, verified)
SELECT c.unit_id, c.wing_id, CASE WHEN u.kind = 'ac' THEN u.id ELSE u.ac_id END, c.achieved, c.verified
  FROM unit_counters c JOIN units u ON u.id = c.unit_id
 WHERE u.kind IN ('ac', 'sector', 'booth');

INSERT INTO unit_counters_by_ac (unit_id, wing_id, ac_id, achieved, verified)
SELECT up.anc, c.wing_id, a.id, c.achieved, c.verified
  FROM unit_counters c JOIN units a ON a.id = c.unit_id AND a.kind = 'ac'
  JOIN (SELECT id, state_id AS anc FROM units WHERE kind = 'ac'
        UNION ALL SELECT id, division_id FROM units WHERE kind = 'ac'
        UNION ALL SELECT id, district_id FROM units WHERE kind = 'ac'
        UNION ALL SELECT id, pc_id FROM units WHERE kind = 'ac') up ON up.id = a.id
 WHERE up.anc IS NOT NULL;

DROP TABLE unit_counters;
ALTER TABLE unit_counters_by_ac RENAME TO unit_counters;

CREATE TABLE unit_daily_by_ac (
    unit_id  BIGINT NOT NULL,
    wing_id  BIGINT NOT NULL,
    day      DATE    NOT NULL,
    ac_id    BIGINT NOT NULL,
    n        BIGINT NOT NULL,
    verified BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (unit_id, wing_id, day, ac_id)
);

INSERT INTO unit_daily_by_ac (unit_id, wing_id, day, ac_id, n, verified)
SELECT d.unit_id, d.wing_id, d.day, CASE WHEN u.kind = 'ac' THEN u.id ELSE u.ac_id END, d.n, d.verified
  FROM unit_daily d JOIN units u ON u.id = d.unit_id
 WHERE u.kind IN ('ac', 'sector', 'booth');

INSERT INTO unit_daily_by_ac (unit_id, wing_id, day, ac_id, n, verified)
SELECT up.anc, d.wing_id, d.day, a.id, d.n, d.verified
  FROM unit_daily d JOIN units a ON a.id = d.unit_id AND a.kind = 'ac'
  JOIN (SELECT id, state_id AS anc FROM units WHERE kind = 'ac'
        UNION ALL SELECT id, division_id FROM units WHERE kind = 'ac'
        UNION ALL SELECT id, district_id FROM units WHERE kind = 'ac'
        UNION ALL SELECT id, pc_id FROM units WHERE kind = 'ac') up ON up.id = a.id
 WHERE up.anc IS NOT NULL;

DROP TABLE unit_daily;
ALTER TABLE unit_daily_by_ac RENAME TO unit_daily;
