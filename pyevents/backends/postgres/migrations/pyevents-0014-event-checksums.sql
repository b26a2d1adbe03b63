-- depends: pyevents-0005-dcb-gate
-- A checksum of every event, recorded when it is appended (trigger events_record_checksums)
-- and recomputed by verify_events(), so a row changed behind the store's back (a superuser
-- with the triggers disabled, a restored damaged page) is found and named. A side table, so
-- events stored before it existed can be sealed by inserts alone (backfill_checksums(), run by
-- every upgrade): the log itself is never updated.

CREATE TABLE IF NOT EXISTS pyevents.event_checksums (
    position  bigint PRIMARY KEY,
    checksum  bytea  NOT NULL
);
