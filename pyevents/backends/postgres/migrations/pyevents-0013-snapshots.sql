-- depends: pyevents-0001-events
-- Snapshots: the state an application derived from the events of one correlation, and the log
-- position it reflects, so it replays only what came after. Not events: never read as events,
-- and a newer snapshot of a correlation replaces the older one (the only row kept per key).

CREATE TABLE IF NOT EXISTS pyevents.snapshots (
    correlation_id  uuid        PRIMARY KEY,
    position        bigint      NOT NULL CHECK (position >= 0),
    state           jsonb       NOT NULL CHECK (jsonb_typeof(state) = 'object'),
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by      text        NOT NULL DEFAULT session_user
);
