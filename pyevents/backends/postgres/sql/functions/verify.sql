-- Consistency checks of the stored log and its protection; one row per problem, none when
-- healthy. It reads every partition, so it is the auditor's function, not a reader's.
-- SELECT * FROM pyevents.verify();
CREATE OR REPLACE FUNCTION pyevents.verify()
RETURNS SETOF text
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('event %s at position %s has no entry in event_ids', e.event_id, e.position)
    FROM pyevents.events AS e
    LEFT JOIN pyevents.event_ids AS i ON i.event_id = e.event_id
    WHERE i.event_id IS NULL OR i.position <> e.position
    UNION ALL
    SELECT format('event_ids entry %s points at position %s, which holds no such event', i.event_id, i.position)
    FROM pyevents.event_ids AS i
    WHERE NOT EXISTS (
        SELECT 1 FROM pyevents.events AS e
        WHERE e.position = i.position AND e.timestamp = i.timestamp AND e.event_id = i.event_id
    )
    UNION ALL
    SELECT format('tag %s of position %s is not in the event''s metadata.tags', t.tag, t.position)
    FROM pyevents.event_tags AS t
    WHERE NOT EXISTS (
        SELECT 1 FROM pyevents.events AS e
        WHERE e.position = t.position AND e.timestamp = t.timestamp
          AND coalesce(e.metadata -> 'tags', '[]') ? t.tag
    )
    UNION ALL
    SELECT format('event at position %s has tag %s missing from event_tags', e.position, x.tag_name)
    FROM pyevents.events AS e, jsonb_array_elements_text(coalesce(e.metadata -> 'tags', '[]')) AS x(tag_name)
    WHERE NOT EXISTS (SELECT 1 FROM pyevents.event_tags AS t WHERE t.tag = x.tag_name AND t.position = e.position)
    UNION ALL
    SELECT format('event at position %s lies outside every registered partition', e.position)
    FROM pyevents.events AS e
    WHERE NOT EXISTS (
        SELECT 1 FROM pyevents.partitions AS p WHERE p.range_start <= e.timestamp AND p.range_end > e.timestamp
    )
    UNION ALL
    SELECT format('partition %s lacks trigger %s or it is not ENABLE ALWAYS', c.oid::regclass, t.name)
    FROM pg_inherits AS i
    JOIN pg_class AS c ON c.oid = i.inhrelid
    CROSS JOIN (VALUES ('events_forbid_change'), ('events_forbid_truncate')) AS t(name)
    WHERE i.inhparent = 'pyevents.events'::regclass
      AND NOT EXISTS (SELECT 1 FROM pg_trigger AS g WHERE g.tgrelid = c.oid AND g.tgname = t.name AND g.tgenabled = 'A')
    UNION ALL
    SELECT format('partition %s is missing from pyevents.partitions', c.oid::regclass)
    FROM pg_inherits AS i
    JOIN pg_class AS c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'pyevents.events'::regclass
      AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
      AND NOT EXISTS (SELECT 1 FROM pyevents.partitions AS p WHERE p.partition = c.oid)
    UNION ALL
    SELECT 'protection missing: ' || m FROM pyevents.missing_protection() AS m
$$;
COMMENT ON FUNCTION pyevents.verify() IS
    'Consistency checks of the side tables and partitions, one row per problem; see also verify_events(). Reads every partition: for pyevents_auditor.';
