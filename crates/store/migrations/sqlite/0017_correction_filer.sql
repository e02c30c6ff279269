-- Who filed a correction request (the member themselves, or the office-bearer on the member's
-- page), so that nobody applies a correction they asked for (SQLite). None for requests filed
-- before this migration and for the operator's.
ALTER TABLE correction_requests ADD COLUMN filed_by INTEGER;
