-- What the store holds, for monitoring: the head, events by type (event_counts_by_type), the
-- events of the last day (for the growth rate), bytes of every pyevents table with its indexes,
-- partitions, and each subscription's lag behind the head. Every scrape runs this, so nothing here
-- reads a day of events: the last day is the positions from the first event timestamped in the last
-- 24 hours up to the head, one probe of the (timestamp, position) index per partition. So it counts
-- what the log grew by since then, back-dated events appended meanwhile included, and positions of
-- rolled-back appends.
CREATE OR REPLACE FUNCTION pyevents.storage_metrics()
RETURNS jsonb
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH head AS (
        SELECT coalesce(max(e.position), 0) AS position FROM pyevents.events AS e
    ), day_start AS (
        SELECT (
            SELECT e.position FROM pyevents.events AS e
            WHERE e.timestamp >= now() - interval '24 hours'
            ORDER BY e.timestamp, e.position
            LIMIT 1
        ) AS position
    )
    SELECT jsonb_build_object(
        'head', head.position,
        'events_by_type', pyevents.event_counts_by_type(),
        'events_last_day', coalesce(greatest(head.position - day_start.position + 1, 0), 0),
        'storage_bytes', (
            SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)
            FROM pg_catalog.pg_class AS c
            WHERE c.relnamespace = 'pyevents'::regnamespace AND c.relkind = 'r'
        ),
        'partitions', (
            SELECT count(*) FROM pg_catalog.pg_inherits AS i WHERE i.inhparent = 'pyevents.events'::regclass
        ),
        'subscription_lag', coalesce((
            SELECT jsonb_object_agg(s.name, greatest(head.position - s.position, 0))
            FROM pyevents.subscriptions AS s
        ), '{}'::jsonb)
    )
    FROM head, day_start
$$;
COMMENT ON FUNCTION pyevents.storage_metrics() IS
    'Monitoring figures as JSON: head, events by type, events appended since the first event of the last day, bytes per table, partitions, subscription lag. For readers and writers.';
