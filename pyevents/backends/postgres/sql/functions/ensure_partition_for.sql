-- Creates the partitions that the given timestamps need and do not have yet: through
-- pg_partman when it manages the table, else one calendar month (UTC) each, named as
-- pg_partman 5 names them. Back-dated events (imports, restores) land in a real partition,
-- never in the default one. Returns how many partitions were created.
CREATE OR REPLACE FUNCTION pyevents.ensure_partition_for(p_timestamps timestamptz[])
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_missing timestamptz[];
    v_timestamp timestamptz;
    v_start timestamptz;
    v_partman text;
    v_created integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(pyevents.lock_key('partitions'));
    PERFORM pyevents.sync_partitions();  -- pick up partitions pg_partman made since the last sync
    v_partman := pyevents.partman_schema();
    FOREACH v_timestamp IN ARRAY ARRAY(SELECT DISTINCT t FROM unnest(p_timestamps) AS t WHERE t IS NOT NULL ORDER BY 1)
    LOOP
        CONTINUE WHEN EXISTS (
            SELECT 1 FROM pyevents.partitions p
            WHERE p.range_start <= v_timestamp AND p.range_end > v_timestamp
        );
        IF v_partman IS NOT NULL THEN
            -- pg_partman takes the partition's start, in the time zone its monthly ranges use
            EXECUTE format(
                'SELECT %I.create_partition_time(p_parent_table := %L, p_partition_times := ARRAY[%L::timestamptz])',
                v_partman, 'pyevents.events', date_trunc('month', v_timestamp)
            );
        ELSE
            v_start := date_trunc('month', v_timestamp, 'UTC');
            EXECUTE format(
                'CREATE TABLE pyevents.%I PARTITION OF pyevents.events FOR VALUES FROM (%L) TO (%L)',
                pyevents.partition_name(v_start), v_start, v_start + interval '1 month'
            );
        END IF;
        PERFORM pyevents.sync_partitions();
        IF NOT EXISTS (
            SELECT 1 FROM pyevents.partitions p
            WHERE p.range_start <= v_timestamp AND p.range_end > v_timestamp
        ) THEN
            PERFORM pyevents.raise_error('PE005', format('could not create a partition for timestamp %s', v_timestamp));
        END IF;
        v_created := v_created + 1;
    END LOOP;
    RETURN v_created;
END
$$;
