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

-- Events counted by partition and type, for monitoring: storage_metrics adds what was appended
-- since, so a scrape reads only the new events, not the whole log. Counts of a dropped
-- partition are ignored (and removed by the next count), so retention needs no bookkeeping.
CREATE TABLE IF NOT EXISTS pyevents.event_counts (
    partition   oid     NOT NULL,
    event_type  text    NOT NULL,
    events      bigint  NOT NULL CHECK (events >= 0),
    PRIMARY KEY (partition, event_type)
);

-- How far event_counts goes (every position up to `counted` is final and counted), and the
-- next step waiting to become final: positions up to pending_max once the oldest running
-- transaction is past pending_horizon (the reasoning of stream_frontier).
CREATE TABLE IF NOT EXISTS pyevents.event_counts_mark (
    singleton        boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    counted          bigint  NOT NULL DEFAULT 0,
    pending_max      bigint,
    pending_horizon  xid8
);
INSERT INTO pyevents.event_counts_mark (singleton) VALUES (true) ON CONFLICT DO NOTHING;
