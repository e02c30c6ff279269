-- Community/category and religion: optional, off unless the deployment turns them on
-- (meta `sensitive_fields` = 'on'), recorded only with the member's consent for that purpose,
-- kept apart from the member row, never exported or searched, shown only as aggregates.
CREATE TABLE sensitive_attributes (
    person_id    INTEGER PRIMARY KEY REFERENCES people(id),
    category     TEXT,
    religion     TEXT,
    consented_at TEXT NOT NULL
);
