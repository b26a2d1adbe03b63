-- Trigger function (AFTER INSERT ... FOR EACH STATEMENT on pyevents.events): records the
-- checksum of every event the statement inserted, in the same transaction.
CREATE OR REPLACE FUNCTION pyevents.record_checksums()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO pyevents.event_checksums (position, checksum)
    SELECT n.position,
           pyevents.event_checksum(n.position, n.event_id, n.timestamp, n.event_type, n.actor_type, n.actor_id,
                                   n.correlation_id, n.causation_id, n.schema_version, n.payload, n.metadata,
                                   n.appended_by)
    FROM new_events AS n;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION pyevents.record_checksums() IS
    'Trigger function (after INSERT on pyevents.events): records the checksum of every inserted event in the same transaction.';
