-- The snapshot of a correlation (the newest saved), or no row.
CREATE OR REPLACE FUNCTION pyevents.get_snapshot(p_correlation_id uuid)
RETURNS SETOF pyevents.snapshots
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.* FROM pyevents.snapshots AS s WHERE s.correlation_id = p_correlation_id
$$;
COMMENT ON FUNCTION pyevents.get_snapshot(uuid) IS
    'The newest snapshot of a correlation, or no row. For readers and writers.';
