-- depends: pyevents-0001-events
-- Side tables the partitioned log needs: global event_id uniqueness (a unique index on the
-- partitioned table would have to include the timestamp), tags keyed for DCB checks, and the
-- registry of partition ranges that appends consult before inserting.

CREATE TABLE IF NOT EXISTS pyevents.event_ids (
    event_id   uuid        PRIMARY KEY,
    position   bigint      NOT NULL,
    timestamp  timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS pyevents.event_tags (
    tag         text        NOT NULL CHECK (tag <> '' AND length(tag) <= 255),
    position    bigint      NOT NULL,
    event_type  text        NOT NULL,
    timestamp   timestamptz NOT NULL,
    PRIMARY KEY (tag, position) INCLUDE (event_type)
);

CREATE TABLE IF NOT EXISTS pyevents.partitions (
    range_start  timestamptz PRIMARY KEY,
    range_end    timestamptz NOT NULL,
    partition    regclass    NOT NULL UNIQUE,
    CHECK (range_start < range_end)
);
