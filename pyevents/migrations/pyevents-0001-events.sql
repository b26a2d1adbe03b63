-- The event log: a table range-partitioned by event time, the global position sequence,
-- and the empty default partition that must never receive a row.
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

CREATE TABLE IF NOT EXISTS pyevents.events_default PARTITION OF pyevents.events DEFAULT;

ALTER SEQUENCE pyevents.events_position_seq OWNED BY pyevents.events.position;
