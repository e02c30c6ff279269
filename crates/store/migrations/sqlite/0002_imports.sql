-- Resumable bulk imports: each batch commits its rows and this checkpoint together.
CREATE TABLE import_jobs (
    id                  INTEGER PRIMARY KEY,
    file_hash           TEXT    NOT NULL,
    file_name           TEXT    NOT NULL,
    actor               TEXT    NOT NULL,
    started_at          TEXT    NOT NULL,
    finished_at         TEXT,
    rows_done           INTEGER NOT NULL DEFAULT 0,
    blank               INTEGER NOT NULL DEFAULT 0,
    created_people      INTEGER NOT NULL DEFAULT 0,
    created_memberships INTEGER NOT NULL DEFAULT 0,
    duplicates          INTEGER NOT NULL DEFAULT 0,
    rejected            INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX import_jobs_open ON import_jobs (file_hash, finished_at);

CREATE TABLE import_errors (
    job_id    INTEGER NOT NULL REFERENCES import_jobs(id),
    line      INTEGER NOT NULL,
    col       TEXT    NOT NULL,
    value     TEXT    NOT NULL,
    reason_en TEXT    NOT NULL,
    reason_hi TEXT    NOT NULL,
    PRIMARY KEY (job_id, line, col)
);
