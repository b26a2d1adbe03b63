-- Description of the event checksums table.
COMMENT ON TABLE pyevents.event_checksums IS
    'SHA-256 of every event, recorded when it was appended (or sealed by backfill_checksums), recomputed by verify_events().';
