-- Sangathan core schema (SQLite). Dates are ISO-8601 text, timestamps RFC 3339 text.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The geography. Ancestor ids are denormalised so that roll-ups and scoped
-- queries never walk the tree.
CREATE TABLE units (
    id          INTEGER PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL CHECK (kind IN ('state','division','district','pc','ac','sector','booth')),
    parent_id   INTEGER REFERENCES units(id),
    number      INTEGER,
    name_en     TEXT    NOT NULL,
    name_hi     TEXT,
    reserved    TEXT,
    state_id    INTEGER,
    division_id INTEGER,
    district_id INTEGER,
    pc_id       INTEGER,
    ac_id       INTEGER,
    sector_id   INTEGER
);
CREATE INDEX units_parent ON units (parent_id, kind, number);
CREATE INDEX units_pc ON units (pc_id, kind, number);
CREATE INDEX units_ac ON units (ac_id, kind, number);

CREATE TABLE wings (
    id      INTEGER PRIMARY KEY,
    code    TEXT NOT NULL UNIQUE,
    name_en TEXT NOT NULL,
    name_hi TEXT NOT NULL
);

CREATE TABLE campaigns (
    id         INTEGER PRIMARY KEY,
    code       TEXT    NOT NULL UNIQUE,
    name_en    TEXT    NOT NULL,
    name_hi    TEXT    NOT NULL,
    wing_id    INTEGER NOT NULL REFERENCES wings(id),
    start_date TEXT    NOT NULL,
    end_date   TEXT    NOT NULL,
    CHECK (end_date >= start_date)
);

CREATE TABLE targets (
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    unit_id     INTEGER NOT NULL REFERENCES units(id),
    target      INTEGER NOT NULL CHECK (target >= 0),
    PRIMARY KEY (campaign_id, unit_id)
) WITHOUT ROWID;

CREATE TABLE people (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    name_key   TEXT    NOT NULL,
    gender     TEXT CHECK (gender IN ('M','F','O')),
    birth_year INTEGER,
    address    TEXT,
    mobile     TEXT,
    epic       TEXT UNIQUE,
    unit_id    INTEGER NOT NULL REFERENCES units(id),
    created_at TEXT    NOT NULL,
    CHECK (mobile IS NOT NULL OR epic IS NOT NULL)
);
-- One person per (mobile, name key); NULL mobiles never collide.
CREATE UNIQUE INDEX people_mobile_name ON people (mobile, name_key);

CREATE TABLE memberships (
    id          INTEGER PRIMARY KEY,
    person_id   INTEGER NOT NULL REFERENCES people(id),
    wing_id     INTEGER NOT NULL REFERENCES wings(id),
    unit_id     INTEGER NOT NULL REFERENCES units(id),
    ac_id       INTEGER NOT NULL REFERENCES units(id),
    number      TEXT    NOT NULL UNIQUE,
    status      TEXT    NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending','verified','rejected','lapsed','cancelled')),
    channel     TEXT    NOT NULL,
    enrolled_by TEXT    NOT NULL,
    enrolled_at TEXT    NOT NULL,
    enrolled_on TEXT    NOT NULL,
    UNIQUE (person_id, wing_id)
);
CREATE INDEX memberships_unit ON memberships (unit_id, enrolled_on);
CREATE INDEX memberships_ac ON memberships (ac_id, id);

-- Next membership serial per AC.
CREATE TABLE ac_sequences (
    ac_id INTEGER PRIMARY KEY REFERENCES units(id),
    last  INTEGER NOT NULL
);

-- Achieved counts per unit and wing, kept in the enrolment's own transaction.
CREATE TABLE unit_counters (
    unit_id  INTEGER NOT NULL,
    wing_id  INTEGER NOT NULL,
    achieved INTEGER NOT NULL,
    PRIMARY KEY (unit_id, wing_id)
) WITHOUT ROWID;

-- Enrolments per day for units at AC level and above (pacing over the last 7 days).
CREATE TABLE unit_daily (
    unit_id INTEGER NOT NULL,
    wing_id INTEGER NOT NULL,
    day     TEXT    NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (unit_id, wing_id, day)
) WITHOUT ROWID;

CREATE TABLE idempotency (
    actor        TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    status       INTEGER NOT NULL,
    response     TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    PRIMARY KEY (actor, key)
);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    actor      TEXT NOT NULL,
    label      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
