-- People the federation met who are not members yet: kept for follow-up only with their consent
-- to be contacted (no number is kept without it), assigned to someone, converted to members later.
CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY,
    meeting_id  INTEGER REFERENCES meetings(id),
    unit_id     INTEGER NOT NULL REFERENCES units(id),
    wing_id     INTEGER NOT NULL REFERENCES wings(id),
    name        TEXT    NOT NULL,
    department  TEXT    NOT NULL,
    mobile      TEXT,
    consent     INTEGER NOT NULL,
    assigned_to INTEGER REFERENCES people(id),
    status      TEXT    NOT NULL,
    note        TEXT    NOT NULL,
    person_id   INTEGER REFERENCES people(id),
    created_by  TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    CHECK (mobile IS NULL OR consent = 1)
);
CREATE INDEX contacts_unit ON contacts (unit_id, status);
CREATE INDEX contacts_assigned ON contacts (assigned_to, status);
CREATE INDEX contacts_meeting ON contacts (meeting_id);

-- Members present at a meeting and members enrolled at it, linked from its report.
CREATE TABLE meeting_people (
    meeting_id INTEGER NOT NULL REFERENCES meetings(id),
    person_id  INTEGER NOT NULL REFERENCES people(id),
    role       TEXT    NOT NULL CHECK (role IN ('present', 'enrolled')),
    PRIMARY KEY (meeting_id, role, person_id)
);
CREATE INDEX meeting_people_person ON meeting_people (person_id);
