-- The event log: a table range-partitioned by event time, and the global position sequence.
-- Partitions (the default one included) are made after migrations, by pg_partman when it is
-- installed, else by pyevents itself: pg_partman insists on creating the default partition.
-- Idempotent (IF NOT EXISTS), so a database installed from the bundle can later be upgraded.

CREATE SEQUENCE IF NOT EXISTS pyevents.events_position_seq AS bigint CACHE 1;

CREATE TABLE IF NOT EXISTS pyevents.events (
    position        bigint      NOT NULL,
    event_id        uuid        NOT NULL,
    timestamp       timestamptz NOT NULL,
    event_type      text        NOT NULL CHECK (event_type <> '' AND length(event_type) <= 255),
    actor_type      text        NOT NULL CHECK (actor_type <> '' AND length(actor_type) <= 255),
    actor_id        text        NOT NULL CHECK (actor_id <> '' AND length(actor_id) <= 255),
    correlation_id  uuid        NOT NULL,
    causation_id    uuid,
    schema_version  text        NOT NULL CHECK (schema_version <> '' AND length(schema_version) <= 32),
    payload         jsonb       NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
    metadata        jsonb       NOT NULL CHECK (jsonb_typeof(metadata) = 'object'),
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (position, timestamp)
) PARTITION BY RANGE (timestamp);

ALTER SEQUENCE pyevents.events_position_seq OWNED BY pyevents.events.position;
