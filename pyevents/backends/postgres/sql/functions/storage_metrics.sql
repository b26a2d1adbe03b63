-- What the store holds, for monitoring: the head, events by type (event_counts_by_type), events of the
-- last day (for the growth rate), bytes of every pyevents table with its indexes, partitions,
-- and each subscription's lag behind the head.
CREATE OR REPLACE FUNCTION pyevents.storage_metrics()
RETURNS jsonb
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH head AS (
        SELECT coalesce(max(e.position), 0) AS position FROM pyevents.events AS e
    )
    SELECT jsonb_build_object(
        'head', head.position,
        'events_by_type', pyevents.event_counts_by_type(),
        'events_last_day', (
            SELECT count(*) FROM pyevents.events AS e WHERE e.timestamp >= now() - interval '24 hours'
        ),
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
    FROM head
$$;
COMMENT ON FUNCTION pyevents.storage_metrics() IS
    'Monitoring figures as JSON: head, events by type, events of the last day, bytes per table, partitions, subscription lag. For readers and writers.';
