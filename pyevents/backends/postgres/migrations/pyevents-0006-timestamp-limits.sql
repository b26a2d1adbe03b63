-- depends: pyevents-0005-dcb-gate
-- The earliest event timestamp appends accept (each month from there on may need a partition;
-- the latest is a fixed skew past now). One row; a DBA moves it with UPDATE.

CREATE TABLE IF NOT EXISTS pyevents.timestamp_limits (
    singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    earliest   timestamptz NOT NULL DEFAULT '1900-01-01 00:00+00' CHECK (earliest > '-infinity')
);

INSERT INTO pyevents.timestamp_limits DEFAULT VALUES ON CONFLICT DO NOTHING;
