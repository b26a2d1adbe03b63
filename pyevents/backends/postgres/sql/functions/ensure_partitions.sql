-- Premakes the partitions of the current month and the next p_months_ahead months (UTC).
-- Run on every upgrade and from maintenance; appends create any other month they need.
CREATE OR REPLACE FUNCTION pyevents.ensure_partitions(p_months_ahead integer DEFAULT 3)
RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
AS $$
    SELECT pyevents.ensure_partition_for(
        ARRAY(SELECT date_trunc('month', now()) + make_interval(months => m) FROM generate_series(0, p_months_ahead) AS m)
    )
$$;
COMMENT ON FUNCTION pyevents.ensure_partitions(integer) IS
    'Premakes the partitions of this month and the next N months (UTC); returns how many were created. Run by every upgrade; schedule it as pyevents_owner.';
