-- Seals the events that have no checksum yet (those stored before checksums existed) with the
-- checksum of their current content, in event_checksums (the log itself is never updated);
-- returns how many. Every upgrade runs it, and it is safe to run at any time: it only
-- inserts, and finds nothing to do once every event is sealed.
-- SELECT pyevents.backfill_checksums();
CREATE OR REPLACE FUNCTION pyevents.backfill_checksums()
RETURNS bigint
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH sealed AS (
        INSERT INTO pyevents.event_checksums (position, checksum)
        SELECT e.position,
               pyevents.event_checksum(e.position, e.event_id, e.timestamp, e.event_type, e.actor_type, e.actor_id,
                                       e.correlation_id, e.causation_id, e.schema_version, e.payload, e.metadata,
                                       e.appended_by)
        FROM pyevents.events AS e
        WHERE e.checksum IS NULL
          AND NOT EXISTS (SELECT 1 FROM pyevents.event_checksums AS c WHERE c.position = e.position)
        ON CONFLICT (position) DO NOTHING
        RETURNING 1
    )
    SELECT count(*) FROM sealed
$$;
COMMENT ON FUNCTION pyevents.backfill_checksums() IS
    'Seals events that have no checksum yet with the checksum of their current content; returns how many. Run by every upgrade (as the owner).';
