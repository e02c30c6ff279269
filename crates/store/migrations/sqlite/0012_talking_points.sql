-- The library of talking points: each edit keeps the version before it; how often each is put
-- on a meeting's agenda is counted (and recomputed by verify).
CREATE TABLE talking_points (
    id         INTEGER PRIMARY KEY,
    wing_id    INTEGER NOT NULL REFERENCES wings(id),
    title      TEXT    NOT NULL,
    body_hi    TEXT    NOT NULL,
    body_en    TEXT    NOT NULL,
    audience   TEXT    NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('draft', 'published')),
    version    INTEGER NOT NULL,
    uses       INTEGER NOT NULL DEFAULT 0,
    created_by TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);

CREATE TABLE talking_point_versions (
    point_id  INTEGER NOT NULL REFERENCES talking_points(id),
    version   INTEGER NOT NULL,
    title     TEXT    NOT NULL,
    body_hi   TEXT    NOT NULL,
    body_en   TEXT    NOT NULL,
    audience  TEXT    NOT NULL,
    status    TEXT    NOT NULL,
    edited_by TEXT    NOT NULL,
    edited_at TEXT    NOT NULL,
    PRIMARY KEY (point_id, version)
);

-- A meeting's agenda: the talking points on it (the version attached).
CREATE TABLE meeting_points (
    meeting_id INTEGER NOT NULL REFERENCES meetings(id),
    point_id   INTEGER NOT NULL REFERENCES talking_points(id),
    version    INTEGER NOT NULL,
    PRIMARY KEY (meeting_id, point_id)
);
