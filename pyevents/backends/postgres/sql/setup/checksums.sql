-- Every install and upgrade seals events stored without a checksum (by releases before
-- checksums existed): their current content becomes the reference verify_events() checks.
SELECT pyevents.backfill_checksums() AS checksums_backfilled;
