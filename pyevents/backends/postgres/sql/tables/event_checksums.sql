-- Description of the event checksums table.
COMMENT ON TABLE pyevents.event_checksums IS
    'SHA-256 of the events stored before checksums were kept in their rows (migration 0017), recorded when they were appended or sealed by backfill_checksums; recomputed by verify_events().';
