-- Where a follower may safely read up to. Sequences hand out positions before commit, so a
-- visible position does not mean the lower ones are final. Positions are final when
--  * they form a gap-free run after p_after (contiguous_until), or
--  * they are at most the visible_max of an earlier call whose horizon the oldest running
--    transaction (snapshot_xmin) has since passed. The horizon is an xid assigned after
--    visible_max was read, so it is above the xid of every transaction that had drawn a
--    position up to visible_max (append_events takes its xid before drawing positions).
--    A snapshot's own xmax would not do: it is the latest completed xid plus one, and a
--    running transaction can hold a larger xid.
-- The horizon is only taken when there is a gap (NULL otherwise), so idle polls use no xid.
-- A standby cannot assign one: there it is always NULL, and a replica's follower settles gaps
-- against the primary (pyevents/backends/postgres/replicas.py).
-- Followers keep the (visible_max, horizon) pairs until snapshot_xmin passes them.
CREATE OR REPLACE FUNCTION pyevents.stream_frontier(p_after bigint, p_scan_limit integer DEFAULT 10000)
RETURNS TABLE (contiguous_until bigint, visible_max bigint, snapshot_xmin xid8, horizon xid8)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_contiguous bigint;
    v_visible bigint;
    v_xmin xid8;
    v_horizon xid8;
BEGIN
    SELECT
        coalesce((
            SELECT max(s.position)
            FROM (
                SELECT e.position, row_number() OVER (ORDER BY e.position) AS n
                FROM (
                    SELECT ev.position FROM pyevents.events AS ev
                    WHERE ev.position > p_after
                    ORDER BY ev.position
                    LIMIT p_scan_limit
                ) AS e
            ) AS s
            WHERE s.position = p_after + s.n
        ), p_after),
        coalesce((SELECT max(ev.position) FROM pyevents.events AS ev WHERE ev.position > p_after), p_after),
        pg_snapshot_xmin(pg_current_snapshot())
    INTO v_contiguous, v_visible, v_xmin;
    IF v_visible > v_contiguous AND NOT pg_is_in_recovery() THEN
        v_horizon := pg_current_xact_id();
    END IF;
    RETURN QUERY SELECT v_contiguous, v_visible, v_xmin, v_horizon;
END
$$;
COMMENT ON FUNCTION pyevents.stream_frontier(bigint, integer) IS
    'Where a live follower may safely read up to, given positions drawn by transactions not yet committed. For pyevents_reader (streams).';
