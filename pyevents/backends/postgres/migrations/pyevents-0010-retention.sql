-- depends: pyevents-0005-dcb-gate
-- The retention policy last applied (compiled by pyevents.retention), which the scheduled
-- maintenance procedure applies again: pg_cron has no pyevents.toml to read. One row at most.

CREATE TABLE IF NOT EXISTS pyevents.retention_policy (
    singleton   boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    policy      jsonb       NOT NULL CHECK (jsonb_typeof(policy) = 'object'),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
