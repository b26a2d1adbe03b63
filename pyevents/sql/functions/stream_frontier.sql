-- Where a follower may safely read up to, from one snapshot. Sequences commit out of order, so
-- a visible position does not mean the lower ones are final. Positions are final when
--  * they form a gap-free run after p_after (contiguous_until), or
--  * they are at most the visible_max of an earlier call whose snapshot_xmax is now at or
--    below snapshot_xmin: every transaction that could still have held such a position had
--    its xid before that snapshot (append_events takes the xid before drawing positions) and
--    has ended since.
-- Followers keep the (visible_max, snapshot_xmax) pairs until snapshot_xmin passes them.
CREATE OR REPLACE FUNCTION pyevents.stream_frontier(p_after bigint, p_scan_limit integer DEFAULT 10000)
RETURNS TABLE (contiguous_until bigint, visible_max bigint, snapshot_xmin xid8, snapshot_xmax xid8)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT
        coalesce((
            SELECT max(s.position)
            FROM (
                SELECT e.position, row_number() OVER (ORDER BY e.position) AS n
                FROM (
                    SELECT position FROM pyevents.events
                    WHERE position > p_after
                    ORDER BY position
                    LIMIT p_scan_limit
                ) AS e
            ) AS s
            WHERE s.position = p_after + s.n
        ), p_after),
        coalesce((SELECT max(position) FROM pyevents.events WHERE position > p_after), p_after),
        pg_snapshot_xmin(pg_current_snapshot()),
        pg_snapshot_xmax(pg_current_snapshot())
$$;
