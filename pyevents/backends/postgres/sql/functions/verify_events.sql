-- Checks of the events themselves, one row per problem (verify() checks the side tables and
-- partitions; the client runs both):
--  * every event's checksum, recorded at append time (in its row; in event_checksums for events
--    stored before migration 0017 or sealed by backfill_checksums()), matches its content now;
--  * every event has a checksum (run backfill_checksums() for events older than checksums);
--  * event ids and positions are unique, and no position is beyond what the sequence drew;
--  * positions are gap-free apart from rolled-back draws: a missing position that event_ids
--    or event_tags still refer to held an event that was removed;
--  * partition coverage: every registered partition is attached, the default one is empty
--    (verify() checks that every event lies in a registered partition).
-- SELECT * FROM pyevents.verify_events();
CREATE OR REPLACE FUNCTION pyevents.verify_events()
RETURNS SETOF text
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('event %s at position %s does not match the checksum recorded when it was appended: '
                  'its content was changed', e.event_id, e.position)
    FROM pyevents.events AS e
    LEFT JOIN pyevents.event_checksums AS c ON c.position = e.position AND e.checksum IS NULL
    WHERE coalesce(e.checksum, c.checksum) <> pyevents.event_checksum(e.position, e.event_id, e.timestamp, e.event_type, e.actor_type,
                                                e.actor_id, e.correlation_id, e.causation_id, e.schema_version,
                                                e.payload, e.metadata, e.appended_by)
    UNION ALL
    SELECT format('%s events have no checksum (positions %s to %s); seal them with SELECT pyevents.backfill_checksums()',
                  count(*), min(e.position), max(e.position))
    FROM pyevents.events AS e
    WHERE e.checksum IS NULL
      AND NOT EXISTS (SELECT 1 FROM pyevents.event_checksums AS c WHERE c.position = e.position)
    HAVING count(*) > 0
    UNION ALL
    SELECT format('event_id %s is stored %s times (positions %s)', e.event_id, count(*),
                  string_agg(e.position::text, ', ' ORDER BY e.position))
    FROM pyevents.events AS e
    GROUP BY e.event_id
    HAVING count(*) > 1
    UNION ALL
    SELECT format('position %s is held by %s events', e.position, count(*))
    FROM pyevents.events AS e
    GROUP BY e.position
    HAVING count(*) > 1
    UNION ALL
    SELECT format('position %s is beyond the last position the sequence drew (%s)', max(e.position), s.last_value)
    FROM pyevents.events AS e, pyevents.events_position_seq AS s
    GROUP BY s.last_value, s.is_called
    HAVING max(e.position) > s.last_value OR (NOT s.is_called AND count(*) > 0)
    UNION ALL
    SELECT format('position %s holds no event, but %s still refers to it: an event was removed', r.position, r.source)
    FROM (
        SELECT i.position, 'event_ids' AS source FROM pyevents.event_ids AS i
        UNION
        SELECT t.position, 'event_tags' FROM pyevents.event_tags AS t
    ) AS r
    WHERE NOT EXISTS (SELECT 1 FROM pyevents.events AS e WHERE e.position = r.position)
    UNION ALL
    SELECT format('partition %s is registered for %s to %s but is not attached to pyevents.events',
                  p.partition, p.range_start, p.range_end)
    FROM pyevents.partitions AS p
    WHERE NOT EXISTS (
        SELECT 1 FROM pg_inherits AS i WHERE i.inhrelid = p.partition AND i.inhparent = 'pyevents.events'::regclass
    )
    UNION ALL
    SELECT format('the default partition %s holds %s events, which no month partition covers',
                  c.oid::regclass, count(*))
    FROM pyevents.events AS e
    JOIN pg_class AS c ON c.oid = e.tableoid
    WHERE pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'
    GROUP BY c.oid
$$;
COMMENT ON FUNCTION pyevents.verify_events() IS
    'Checks of the log, one row per problem: checksums, unique ids and positions, removed events, partition coverage. For pyevents_auditor.';
