-- Every event of one correlation, in position order.
CREATE OR REPLACE FUNCTION pyevents.get_events_by_correlation(p_correlation_id uuid)
RETURNS SETOF pyevents.events
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT e.*
    FROM pyevents.events AS e
    WHERE e.correlation_id = p_correlation_id
    ORDER BY e.position
$$;
COMMENT ON FUNCTION pyevents.get_events_by_correlation(uuid) IS
    'Every event of one correlation, in position order. For pyevents_reader.';
