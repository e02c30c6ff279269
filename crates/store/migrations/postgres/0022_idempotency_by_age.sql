-- Idempotency keys are forgotten after IDEMPOTENCY_KEYS_KEPT_DAYS (the periodic jobs); this
-- index finds the old ones without reading the table. Keys are stored in time order, so each
-- enrolment's entry lands on the index's last page.
CREATE INDEX idempotency_created ON idempotency (created_at);
