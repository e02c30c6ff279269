-- How a campaign's members may be verified, confirmations by missed call or reply SMS, and the
-- index incremental detection uses to find ACs whose members were checked since its last run
-- (PostgreSQL).

-- A comma-separated set of `code` (a one-time code typed by the worker or by the member through
-- their link), `missed_call` (a missed call or a reply SMS from the member's own mobile) and
-- `officer` (an office-bearer above the enroller checks them in the queue).
ALTER TABLE campaigns ADD COLUMN verify_by TEXT NOT NULL DEFAULT 'code,missed_call,officer';

-- What a verification code was sent for: `code` (typed back) or `missed_call` (the member
-- calls or replies from their mobile; the code lets a reply SMS name the membership).
ALTER TABLE verification_codes ADD COLUMN method TEXT NOT NULL DEFAULT 'code' CHECK (method IN ('code', 'missed_call'));

CREATE INDEX membership_states_at ON membership_states (at);
