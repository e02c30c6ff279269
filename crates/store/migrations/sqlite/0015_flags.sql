-- Fake-member detection: flags raised by the rules for an office-bearer to review (never to
-- reject on their own), the memberships each concerns, and how far detection has read (SQLite).

CREATE TABLE flags (
    id          INTEGER PRIMARY KEY,
    rule        TEXT    NOT NULL,
    -- One flag per subject (an enroller in an AC, a run, a booth's address...).
    key         TEXT    NOT NULL UNIQUE,
    unit_id     INTEGER NOT NULL REFERENCES units(id),
    reason      TEXT    NOT NULL,
    reason_hi   TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'genuine', 'fake')),
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    resolved_by TEXT,
    resolved_at TEXT,
    note        TEXT
);
CREATE INDEX flags_unit ON flags (unit_id, status);

CREATE TABLE flag_members (
    flag_id       INTEGER NOT NULL REFERENCES flags(id),
    membership_id INTEGER NOT NULL REFERENCES memberships(id),
    PRIMARY KEY (flag_id, membership_id)
);
CREATE INDEX flag_members_membership ON flag_members (membership_id);

-- The last membership id detection has read: later runs look only at what is new (and at the
-- enrollers, ACs and booths it touches).
CREATE TABLE detection_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    last_membership INTEGER NOT NULL,
    ran_at          TEXT    NOT NULL
);

-- Detection reads each enroller's members in time order (runs, two districts within minutes).
CREATE INDEX memberships_enroller ON memberships (enrolled_by, enrolled_at);
