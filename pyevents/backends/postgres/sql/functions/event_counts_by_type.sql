-- Events by type, exactly as visible now, without reading the whole log: the counts kept in
-- event_counts (every position up to event_counts_mark.counted) plus the events after them.
-- Each call also moves the kept counts forward by a step that has become final: positions up to
-- pending_max, once the oldest running transaction is past pending_horizon, an xid taken after
-- pending_max was read (see stream_frontier for why that makes them final). Counts of
-- partitions that are gone (retention) are dropped. Concurrent calls take turns on the mark.
CREATE OR REPLACE FUNCTION pyevents.event_counts_by_type()
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_mark pyevents.event_counts_mark;
BEGIN
    SELECT m.* INTO STRICT v_mark FROM pyevents.event_counts_mark AS m FOR UPDATE;
    IF v_mark.pending_horizon IS NOT NULL AND v_mark.pending_horizon < pg_snapshot_xmin(pg_current_snapshot()) THEN
        INSERT INTO pyevents.event_counts AS c (partition, event_type, events)
        SELECT e.tableoid, e.event_type, count(*)
        FROM pyevents.events AS e
        WHERE e.position > v_mark.counted AND e.position <= v_mark.pending_max
        GROUP BY e.tableoid, e.event_type
        ON CONFLICT (partition, event_type) DO UPDATE SET events = c.events + EXCLUDED.events;
        DELETE FROM pyevents.event_counts AS c
        WHERE NOT EXISTS (
            SELECT 1 FROM pg_catalog.pg_inherits AS i
            WHERE i.inhrelid = c.partition AND i.inhparent = 'pyevents.events'::regclass
        );
        v_mark.counted := v_mark.pending_max;
        v_mark.pending_horizon := NULL;
    END IF;
    IF v_mark.pending_horizon IS NULL THEN
        v_mark.pending_max := coalesce(
            (SELECT max(e.position) FROM pyevents.events AS e WHERE e.position > v_mark.counted), v_mark.counted
        );
        IF v_mark.pending_max > v_mark.counted THEN
            v_mark.pending_horizon := pg_current_xact_id();
        END IF;
    END IF;
    UPDATE pyevents.event_counts_mark AS m
    SET counted = v_mark.counted, pending_max = v_mark.pending_max, pending_horizon = v_mark.pending_horizon;
    RETURN coalesce((
        SELECT jsonb_object_agg(t.event_type, t.events)
        FROM (
            SELECT u.event_type, sum(u.events)::bigint AS events
            FROM (
                SELECT c.event_type, c.events
                FROM pyevents.event_counts AS c
                WHERE EXISTS (
                    SELECT 1 FROM pg_catalog.pg_inherits AS i
                    WHERE i.inhrelid = c.partition AND i.inhparent = 'pyevents.events'::regclass
                )
                UNION ALL
                SELECT e.event_type, count(*)
                FROM pyevents.events AS e
                WHERE e.position > v_mark.counted
                GROUP BY e.event_type
            ) AS u
            GROUP BY u.event_type
        ) AS t
    ), '{}'::jsonb);
END
$$;
COMMENT ON FUNCTION pyevents.event_counts_by_type() IS
    'Internal: events per type as visible now, from the kept counts plus the newest events; moves the kept counts forward. Used by storage_metrics().';
