-- Brings the partition registry (pyevents.partitions, which appends consult) up to date: drops
-- the rows of partitions no longer attached, and records the ranges of the given partitions
-- (of every partition when NULL). SECURITY DEFINER, so that whoever made or detached a
-- partition (a superuser, pg_partman's maintenance, retention) keeps it right.
CREATE OR REPLACE FUNCTION pyevents.register_partitions(p_partitions regclass[] DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'  -- bounds are printed and parsed in UTC
AS $$
BEGIN
    DELETE FROM pyevents.partitions AS p
    WHERE NOT EXISTS (
        SELECT 1 FROM pg_inherits AS i
        WHERE i.inhrelid = p.partition AND i.inhparent = 'pyevents.events'::regclass
    );
    INSERT INTO pyevents.partitions AS p (range_start, range_end, partition)
    SELECT b.bounds[1]::timestamptz, b.bounds[2]::timestamptz, b.relid
    FROM (
        SELECT c.oid::regclass AS relid,
               regexp_match(pg_get_expr(c.relpartbound, c.oid), $re$FROM \('([^']+)'\) TO \('([^']+)'\)$re$) AS bounds
        FROM pg_inherits AS i
        JOIN pg_class AS c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'pyevents.events'::regclass
          AND (p_partitions IS NULL OR i.inhrelid = ANY (p_partitions::oid[]))
    ) AS b
    WHERE b.bounds IS NOT NULL  -- not the default partition
    ON CONFLICT (range_start) DO UPDATE
        SET range_end = EXCLUDED.range_end, partition = EXCLUDED.partition
        WHERE (p.range_end, p.partition) IS DISTINCT FROM (EXCLUDED.range_end, EXCLUDED.partition);
END
$$;
COMMENT ON FUNCTION pyevents.register_partitions(regclass[]) IS
    'Updates the registry pyevents.partitions from the attached partitions (all when NULL). SECURITY DEFINER; called by the event triggers, sync_partitions and retention.';
