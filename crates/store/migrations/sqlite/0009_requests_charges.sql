-- A unit asks a senior to preside over a meeting it calls; unanswered requests move up.
CREATE TABLE chair_requests (
    id         INTEGER PRIMARY KEY,
    meeting_id INTEGER NOT NULL REFERENCES meetings(id),
    person_id  INTEGER NOT NULL REFERENCES people(id),
    state      TEXT    NOT NULL,
    asked_by   TEXT    NOT NULL,
    asked_at   TEXT    NOT NULL,
    due_at     TEXT    NOT NULL,
    answered_at TEXT,
    UNIQUE (meeting_id, person_id)
);
CREATE INDEX chair_requests_due ON chair_requests (state, due_at);
CREATE INDEX chair_requests_person ON chair_requests (person_id, state);

-- Senior leaders answerable for a unit's drive or its meetings (a named person per unit).
CREATE TABLE charges (
    id         INTEGER PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES people(id),
    unit_id    INTEGER NOT NULL REFERENCES units(id),
    what       TEXT    NOT NULL CHECK (what IN ('drive', 'meetings')),
    given_by   TEXT    NOT NULL,
    given_at   TEXT    NOT NULL,
    ended_at   TEXT,
    UNIQUE (person_id, unit_id, what)
);
CREATE INDEX charges_unit ON charges (unit_id);
