-- Background jobs on several app nodes: one lease per job, held by the node that runs it. A node
-- takes a lease only when it is free or its holder let it lapse (a node that dies stops
-- renewing it), and records each period it ran the job for, so that a period is run once
-- whichever node holds the lease. Times are the machines' real clocks (never SANGATHAN_NOW).
-- A node reads the row FOR UPDATE SKIP LOCKED: it never waits while another takes the lease.
CREATE TABLE job_leases (
    name          TEXT        PRIMARY KEY,
    -- The node holding the lease (host:pid:random), and until when; NULL: free.
    holder        TEXT,
    held_until    TIMESTAMPTZ,
    -- The start of the last period the job ran for.
    done_period   TIMESTAMPTZ,
    last_started  TIMESTAMPTZ,
    last_finished TIMESTAMPTZ,
    last_ran_by   TEXT,
    runs          BIGINT      NOT NULL DEFAULT 0
);

-- Each period a job ran for, once (the key refuses a second run of one period); kept 30 days.
CREATE TABLE job_runs (
    name        TEXT        NOT NULL,
    period      TIMESTAMPTZ NOT NULL,
    ran_by      TEXT        NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (name, period)
);
