-- Up to a few photos of a meeting, kept by the server (size-limited, images only).
CREATE TABLE meeting_photos (
    meeting_id   BIGINT NOT NULL REFERENCES meetings(id),
    n            BIGINT NOT NULL,
    content_type TEXT    NOT NULL,
    bytes        BYTEA   NOT NULL,
    size         BIGINT NOT NULL,
    uploaded_by  TEXT    NOT NULL,
    uploaded_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (meeting_id, n)
);
