-- Up to a few photos of a meeting, kept by the server (size-limited, images only).
CREATE TABLE meeting_photos (
    meeting_id   INTEGER NOT NULL REFERENCES meetings(id),
    n            INTEGER NOT NULL,
    content_type TEXT    NOT NULL,
    bytes        BLOB    NOT NULL,
    size         INTEGER NOT NULL,
    uploaded_by  TEXT    NOT NULL,
    uploaded_at  TEXT    NOT NULL,
    PRIMARY KEY (meeting_id, n)
);
