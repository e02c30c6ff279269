-- The volunteer force: programmes and their duties, rosters, personal check-in codes, check-ins,
-- incidents, each person's last activity (for activation), follow-up lists, and bulletins with
-- views and moderated comments (SQLite).

-- A programme (rally, jan sabha, workers' conference, ...). Its report climbs the chain as a
-- meeting report: every programme has a meeting of kind 'programme' at its venue.
CREATE TABLE programmes (
    id         INTEGER PRIMARY KEY,
    wing_id    INTEGER NOT NULL REFERENCES wings(id),
    unit_id    INTEGER NOT NULL REFERENCES units(id),
    venue_id   INTEGER NOT NULL REFERENCES units(id),
    meeting_id INTEGER NOT NULL UNIQUE REFERENCES meetings(id),
    title      TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    starts_at  TEXT    NOT NULL,
    ends_at    TEXT    NOT NULL,
    expected   INTEGER NOT NULL,
    created_by TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);
CREATE INDEX programmes_venue ON programmes (venue_id, starts_at);

CREATE TABLE duties (
    id           INTEGER PRIMARY KEY,
    programme_id INTEGER NOT NULL REFERENCES programmes(id),
    kind         TEXT    NOT NULL,
    label        TEXT    NOT NULL,
    starts_at    TEXT    NOT NULL,
    ends_at      TEXT    NOT NULL,
    headcount    INTEGER NOT NULL CHECK (headcount > 0),
    leader_id    INTEGER REFERENCES people(id)
);
CREATE INDEX duties_programme ON duties (programme_id);

-- Who is on a duty: asked (notified), confirmed or declined (a decliner is never asked again).
-- asked and confirmed take a place; starts_at/ends_at are the duty's, copied so that "no two
-- overlapping shifts" is one indexed look-up per volunteer.
CREATE TABLE duty_assignments (
    duty_id     INTEGER NOT NULL REFERENCES duties(id),
    person_id   INTEGER NOT NULL REFERENCES people(id),
    status      TEXT    NOT NULL CHECK (status IN ('asked', 'confirmed', 'declined')),
    starts_at   TEXT    NOT NULL,
    ends_at     TEXT    NOT NULL,
    assigned_by TEXT    NOT NULL,
    assigned_at TEXT    NOT NULL,
    answered_at TEXT,
    PRIMARY KEY (duty_id, person_id)
);
CREATE INDEX duty_assignments_person ON duty_assignments (person_id, starts_at);

-- Days a volunteer cannot serve.
CREATE TABLE volunteer_unavailable (
    id        INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id),
    from_day  TEXT    NOT NULL,
    to_day    TEXT    NOT NULL
);
CREATE INDEX volunteer_unavailable_person ON volunteer_unavailable (person_id);

-- Each volunteer's personal check-in code (printed under their QR code).
CREATE TABLE checkin_codes (
    person_id  INTEGER PRIMARY KEY REFERENCES people(id),
    code       TEXT    NOT NULL UNIQUE,
    created_at TEXT    NOT NULL
);

-- One check-in per volunteer per programme: the same scan twice is one check-in.
CREATE TABLE checkins (
    programme_id INTEGER NOT NULL REFERENCES programmes(id),
    person_id    INTEGER NOT NULL REFERENCES people(id),
    in_at        TEXT    NOT NULL,
    out_at       TEXT,
    in_by        TEXT    NOT NULL,
    PRIMARY KEY (programme_id, person_id)
);
CREATE INDEX checkins_person ON checkins (person_id);

-- The discipline log.
CREATE TABLE incidents (
    id           INTEGER PRIMARY KEY,
    programme_id INTEGER NOT NULL REFERENCES programmes(id),
    at           TEXT    NOT NULL,
    severity     TEXT    NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    text         TEXT    NOT NULL,
    reported_by  TEXT    NOT NULL
);
CREATE INDEX incidents_programme ON incidents (programme_id);

-- When each person last did something that makes them active, per source: 'meeting' (present
-- at a meeting), 'checkin' (checked in at a programme), 'enrol' (enrolled a member). Kept as it
-- happens; verify recomputes every row from the sources.
CREATE TABLE activity (
    person_id INTEGER NOT NULL REFERENCES people(id),
    source    TEXT    NOT NULL CHECK (source IN ('meeting', 'checkin', 'enrol')),
    last_at   TEXT    NOT NULL,
    PRIMARY KEY (person_id, source)
);

-- Follow-up of an inactive worker: who calls or visits, the outcome and the next step.
CREATE TABLE followups (
    id          INTEGER PRIMARY KEY,
    person_id   INTEGER NOT NULL REFERENCES people(id),
    unit_id     INTEGER NOT NULL REFERENCES units(id),
    assigned_to INTEGER NOT NULL REFERENCES people(id),
    outcome     TEXT CHECK (outcome IN ('reached', 'not_reachable', 'will_come', 'moved_away')),
    next_step   TEXT    NOT NULL DEFAULT '',
    note        TEXT    NOT NULL DEFAULT '',
    created_by  TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);
CREATE INDEX followups_unit ON followups (unit_id);
CREATE INDEX followups_assignee ON followups (assigned_to);
-- At most one open follow-up per person.
CREATE UNIQUE INDEX followups_open ON followups (person_id) WHERE outcome IS NULL;

-- Bulletins to a unit's subtree (and optionally one wing); views counted once per reader.
CREATE TABLE bulletins (
    id         INTEGER PRIMARY KEY,
    unit_id    INTEGER NOT NULL REFERENCES units(id),
    wing_id    INTEGER REFERENCES wings(id),
    author_id  INTEGER REFERENCES people(id),
    author     TEXT    NOT NULL,
    title      TEXT    NOT NULL,
    body_hi    TEXT,
    body_en    TEXT,
    pinned     INTEGER NOT NULL DEFAULT 0,
    views      INTEGER NOT NULL DEFAULT 0,
    created_at TEXT    NOT NULL
);
CREATE INDEX bulletins_unit ON bulletins (unit_id, created_at);

CREATE TABLE bulletin_views (
    bulletin_id INTEGER NOT NULL REFERENCES bulletins(id),
    person_id   INTEGER NOT NULL REFERENCES people(id),
    at          TEXT    NOT NULL,
    PRIMARY KEY (bulletin_id, person_id)
);
CREATE INDEX bulletin_views_person ON bulletin_views (person_id);

CREATE TABLE bulletin_comments (
    id            INTEGER PRIMARY KEY,
    bulletin_id   INTEGER NOT NULL REFERENCES bulletins(id),
    person_id     INTEGER NOT NULL REFERENCES people(id),
    body          TEXT    NOT NULL,
    at            TEXT    NOT NULL,
    hidden_at     TEXT,
    hidden_by     TEXT,
    hidden_reason TEXT
);
CREATE INDEX bulletin_comments_bulletin ON bulletin_comments (bulletin_id, id);
CREATE INDEX bulletin_comments_person ON bulletin_comments (person_id);

-- Activity already on record: meetings attended and members enrolled.
INSERT INTO activity (person_id, source, last_at)
SELECT mp.person_id, 'meeting', MAX(m.starts_at) FROM meeting_people mp JOIN meetings m ON m.id = mp.meeting_id
 WHERE mp.role = 'present' GROUP BY mp.person_id;
INSERT INTO activity (person_id, source, last_at)
SELECT p.id, 'enrol', e.last_at FROM (
    SELECT enrolled_by, MAX(enrolled_at) AS last_at FROM memberships WHERE enrolled_by LIKE 'person:%' GROUP BY enrolled_by
) e JOIN people p ON 'person:' || CAST(p.id AS TEXT) = e.enrolled_by
 WHERE p.erased_at IS NULL;
