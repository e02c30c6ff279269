-- Members you can trust: verified counts beside achieved ones, the day each membership was
-- verified, why it was rejected, every change of state, member verification codes, which count
-- drives a campaign, and flags raised by the fake-member detection (SQLite).

-- Verified memberships per unit and wing (roll-up like achieved; verify recomputes it).
ALTER TABLE unit_counters ADD COLUMN verified INTEGER NOT NULL DEFAULT 0;
-- Verifications per day, by the day the membership was verified (pacing when verified drives).
ALTER TABLE unit_daily ADD COLUMN verified INTEGER NOT NULL DEFAULT 0;

ALTER TABLE memberships ADD COLUMN verified_on TEXT;
ALTER TABLE memberships ADD COLUMN status_reason TEXT;

-- What drives a campaign's percentage and pacing. New campaigns count verified members; those
-- made before verification existed keep counting all members (nothing could be verified then).
ALTER TABLE campaigns ADD COLUMN counts TEXT NOT NULL DEFAULT 'verified' CHECK (counts IN ('verified', 'achieved'));
UPDATE campaigns SET counts = 'achieved';

-- Every change of a membership's state, with who, when and why.
CREATE TABLE membership_states (
    id            INTEGER PRIMARY KEY,
    membership_id INTEGER NOT NULL REFERENCES memberships(id),
    from_status   TEXT    NOT NULL,
    to_status     TEXT    NOT NULL,
    reason        TEXT,
    by_actor      TEXT    NOT NULL,
    at            TEXT    NOT NULL
);
CREATE INDEX membership_states_membership ON membership_states (membership_id);

-- One-time codes sent to a member's mobile to confirm their membership; the link in the message
-- (its token hashed here) opens the member's own confirmation page.
CREATE TABLE verification_codes (
    id            INTEGER PRIMARY KEY,
    membership_id INTEGER NOT NULL REFERENCES memberships(id),
    code_hash     TEXT    NOT NULL,
    link_hash     TEXT    NOT NULL UNIQUE,
    created_at    TEXT    NOT NULL,
    expires_at    TEXT    NOT NULL,
    used_at       TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX verification_codes_membership ON verification_codes (membership_id, created_at);
