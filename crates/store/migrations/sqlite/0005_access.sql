-- Accounts, posts, sessions, one-time codes, the audit chain and members' rights (SQLite).

-- A user is a person who can log in.
CREATE TABLE users (
    person_id     INTEGER PRIMARY KEY REFERENCES people(id),
    password_hash TEXT,
    created_at    TEXT NOT NULL,
    disabled_at   TEXT
);

-- Office-bearer posts: a role held at a unit for a wing, with dates; history is kept.
CREATE TABLE posts (
    id           INTEGER PRIMARY KEY,
    person_id    INTEGER NOT NULL REFERENCES people(id),
    role         TEXT    NOT NULL,
    unit_id      INTEGER NOT NULL REFERENCES units(id),
    wing_id      INTEGER NOT NULL REFERENCES wings(id),
    starts_on    TEXT    NOT NULL,
    ends_on      TEXT,
    appointed_by TEXT    NOT NULL,
    created_at   TEXT    NOT NULL
);
CREATE INDEX posts_person ON posts (person_id);

-- A token carries its user's scope; none: the installation's operator (the built-in state admin).
ALTER TABLE api_tokens ADD COLUMN person_id INTEGER REFERENCES people(id);

CREATE TABLE sessions (
    id_hash    TEXT    PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES people(id),
    csrf       TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    last_seen  TEXT    NOT NULL,
    ended_at   TEXT
);
CREATE INDEX sessions_person ON sessions (person_id);

-- Failed logins and code requests, by account and by address (keys are hashes).
CREATE TABLE login_failures (
    key TEXT NOT NULL,
    at  TEXT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, at);

CREATE TABLE one_time_codes (
    id         INTEGER PRIMARY KEY,
    mobile     TEXT    NOT NULL,
    code_hash  TEXT    NOT NULL,
    purpose    TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    expires_at TEXT    NOT NULL,
    used_at    TEXT,
    attempts   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX one_time_codes_mobile ON one_time_codes (mobile, created_at);

-- Messages waiting for the SMS provider.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    channel    TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sent_at    TEXT
);

-- Append-only, each event chained to the one before by its hash.
CREATE TABLE audit_events (
    id        INTEGER PRIMARY KEY,
    at        TEXT    NOT NULL,
    actor     TEXT    NOT NULL,
    post      TEXT,
    action    TEXT    NOT NULL,
    record    TEXT,
    person_id INTEGER,
    address   TEXT,
    outcome   TEXT    NOT NULL,
    prev_hash TEXT    NOT NULL,
    hash      TEXT    NOT NULL
);
CREATE INDEX audit_events_person ON audit_events (person_id, id) WHERE person_id IS NOT NULL;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

-- Events moved to an archive file: where the chain continues from.
CREATE TABLE audit_archives (
    id          INTEGER PRIMARY KEY,
    first_id    INTEGER NOT NULL,
    last_id     INTEGER NOT NULL,
    last_hash   TEXT    NOT NULL,
    events      INTEGER NOT NULL,
    file        TEXT    NOT NULL,
    archived_at TEXT    NOT NULL
);

-- Corrections members ask for through self-service.
CREATE TABLE correction_requests (
    id          INTEGER PRIMARY KEY,
    person_id   INTEGER NOT NULL REFERENCES people(id),
    field       TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    resolved_at TEXT
);
CREATE INDEX correction_requests_person ON correction_requests (person_id);

-- Consent: the notice version shown and the purposes. The defaults record what an enrolment
-- without consent fields (a script, an import) attests: the current notice, by the enroller.
ALTER TABLE people ADD COLUMN consent_notice TEXT NOT NULL DEFAULT 'v1';
ALTER TABLE people ADD COLUMN consent_purposes TEXT NOT NULL DEFAULT 'membership';
ALTER TABLE people ADD COLUMN consent_by TEXT NOT NULL DEFAULT 'enroller';
ALTER TABLE people ADD COLUMN consent_withdrawn_at TEXT;
-- An erased person keeps only an anonymous row, so that counts stay exact.
ALTER TABLE people ADD COLUMN erased_at TEXT;

PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, 'OR merged_into IS NOT NULL)', 'OR merged_into IS NOT NULL OR erased_at IS NOT NULL)')
 WHERE type = 'table' AND name = 'people';
PRAGMA writable_schema = RESET;
