-- depends: pyevents-0001-events
-- Checkpoints of durable, named subscriptions: the last position each consumer has processed.
-- Consumer state, not history: the only pyevents table whose rows are updated.

CREATE TABLE IF NOT EXISTS pyevents.subscriptions (
    name        text        PRIMARY KEY CHECK (name <> '' AND length(name) <= 255),
    position    bigint      NOT NULL CHECK (position >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
