-- Meetings: rotating series, single meetings, presiding chairs, reports that climb the chain,
-- weekly compliance counters, calendar feeds, and the notification outbox grown for email (SQLite).

-- Dates no series meets on (state-wide holidays).
CREATE TABLE holidays (
    day  TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

-- A unit that cannot host meetings from one date to another (inclusive).
CREATE TABLE unit_unavailable (
    id       INTEGER PRIMARY KEY,
    unit_id  INTEGER NOT NULL REFERENCES units(id),
    from_day TEXT    NOT NULL,
    to_day   TEXT    NOT NULL,
    reason   TEXT    NOT NULL
);
CREATE INDEX unit_unavailable_unit ON unit_unavailable (unit_id);

-- The unit levels a wing's meeting reports climb through ("ac,district,division"); a wing
-- without a row uses the three levels above the venue.
CREATE TABLE report_chains (
    wing_id INTEGER PRIMARY KEY REFERENCES wings(id),
    levels  TEXT NOT NULL
);

CREATE TABLE meeting_series (
    id            INTEGER PRIMARY KEY,
    wing_id       INTEGER NOT NULL REFERENCES wings(id),
    unit_id       INTEGER NOT NULL REFERENCES units(id),
    kind          TEXT    NOT NULL,
    rotate        TEXT    NOT NULL,
    rule          TEXT    NOT NULL,
    at_time       TEXT    NOT NULL,
    minutes       INTEGER NOT NULL,
    start_day     TEXT    NOT NULL,
    end_day       TEXT,
    min_gap_weeks INTEGER NOT NULL,
    due_hours     INTEGER NOT NULL,
    created_by    TEXT    NOT NULL,
    created_at    TEXT    NOT NULL
);

-- One meeting: an occurrence of a series (rule_day: the date the rule gave it, its iCalendar
-- RECURRENCE-ID, kept when it is moved) or a single meeting (no series).
CREATE TABLE meetings (
    id           INTEGER PRIMARY KEY,
    series_id    INTEGER REFERENCES meeting_series(id),
    rule_day     TEXT,
    day          TEXT    NOT NULL,
    at_time      TEXT    NOT NULL,
    starts_at    TEXT    NOT NULL,
    minutes      INTEGER NOT NULL,
    venue_id     INTEGER REFERENCES units(id),
    wing_id      INTEGER NOT NULL REFERENCES wings(id),
    kind         TEXT    NOT NULL,
    chair_id     INTEGER REFERENCES people(id),
    organiser_id INTEGER REFERENCES people(id),
    status       TEXT    NOT NULL,
    why          TEXT    NOT NULL,
    why_hi       TEXT    NOT NULL,
    report_due   TEXT    NOT NULL,
    sequence     INTEGER NOT NULL DEFAULT 0,
    created_by   TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    UNIQUE (series_id, rule_day)
);
CREATE INDEX meetings_day ON meetings (day);
CREATE INDEX meetings_venue ON meetings (venue_id, day);
CREATE INDEX meetings_chair ON meetings (chair_id, day);
CREATE INDEX meetings_due ON meetings (report_due) WHERE status = 'planned';

-- Chairs who declined a meeting are never chosen for it again.
CREATE TABLE meeting_declines (
    meeting_id INTEGER NOT NULL REFERENCES meetings(id),
    person_id  INTEGER NOT NULL REFERENCES people(id),
    at         TEXT    NOT NULL,
    PRIMARY KEY (meeting_id, person_id)
);

CREATE TABLE meeting_reports (
    meeting_id     INTEGER PRIMARY KEY REFERENCES meetings(id),
    held           INTEGER NOT NULL,
    reason         TEXT,
    attendance     INTEGER NOT NULL,
    employees_met  INTEGER NOT NULL,
    new_supporters INTEGER NOT NULL,
    new_members    INTEGER NOT NULL,
    agenda         TEXT    NOT NULL,
    issues         TEXT    NOT NULL,
    notes          TEXT    NOT NULL,
    filed_by       TEXT    NOT NULL,
    first_filed_at TEXT    NOT NULL,
    filed_at       TEXT    NOT NULL,
    timing         TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    level          INTEGER NOT NULL,
    revision       INTEGER NOT NULL
);

-- Who a report waits on, level by level up the chain, and what each did (per revision:
-- a corrected report climbs again and the earlier steps stay).
CREATE TABLE report_recipients (
    meeting_id INTEGER NOT NULL REFERENCES meetings(id),
    person_id  INTEGER NOT NULL REFERENCES people(id),
    level      INTEGER NOT NULL,
    revision   INTEGER NOT NULL,
    unit_id    INTEGER NOT NULL REFERENCES units(id),
    state      TEXT    NOT NULL,
    comment    TEXT,
    acted_at   TEXT,
    PRIMARY KEY (meeting_id, revision, level, person_id)
);
CREATE INDEX report_recipients_person ON report_recipients (person_id, state);

-- One row per overdue meeting per day it was escalated: the daily job runs at most once a day.
CREATE TABLE meeting_escalations (
    meeting_id INTEGER NOT NULL REFERENCES meetings(id),
    day        TEXT    NOT NULL,
    level      INTEGER NOT NULL,
    notified   INTEGER NOT NULL,
    PRIMARY KEY (meeting_id, day)
);

-- Per unit, wing and ISO week: meetings planned, held, not held, reported on time, late;
-- rolled up to every ancestor in the writing transaction, like membership counters.
CREATE TABLE meeting_counters (
    unit_id  INTEGER NOT NULL,
    wing_id  INTEGER NOT NULL,
    week     TEXT    NOT NULL,
    planned  INTEGER NOT NULL DEFAULT 0,
    held     INTEGER NOT NULL DEFAULT 0,
    not_held INTEGER NOT NULL DEFAULT 0,
    on_time  INTEGER NOT NULL DEFAULT 0,
    late     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (unit_id, wing_id, week)
);

-- Secret-token calendar feeds (only the token's hash is kept), revocable.
CREATE TABLE calendar_feeds (
    id         INTEGER PRIMARY KEY,
    token_hash TEXT    NOT NULL UNIQUE,
    kind       TEXT    NOT NULL,
    target_id  INTEGER NOT NULL,
    created_by TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    revoked_at TEXT
);

-- A user may get notifications by email.
ALTER TABLE users ADD COLUMN email TEXT;

-- The one outbox: every notification, with retries and an idempotency key.
ALTER TABLE outbox ADD COLUMN subject TEXT;
ALTER TABLE outbox ADD COLUMN idem_key TEXT;
ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN next_at TEXT;
ALTER TABLE outbox ADD COLUMN last_error TEXT;
CREATE UNIQUE INDEX outbox_idem ON outbox (idem_key);
CREATE INDEX outbox_due ON outbox (sent_at, next_at);
