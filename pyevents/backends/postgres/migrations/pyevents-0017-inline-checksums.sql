-- depends: pyevents-0016-role-prefix
-- Each event's checksum is kept in its own row, computed by append_events in the same INSERT:
-- one write per event instead of a second table filled by a statement trigger (which cost an
-- append more than the event's own INSERT). Nullable without a default, so adding it changes
-- only the catalog: events stored before keep their checksum in pyevents.event_checksums,
-- which verify_events() and backfill_checksums() still read. Nothing is rewritten.

ALTER TABLE pyevents.events ADD COLUMN IF NOT EXISTS checksum bytea;

DROP TRIGGER IF EXISTS events_record_checksums ON pyevents.events;
DROP FUNCTION IF EXISTS pyevents.record_checksums();
