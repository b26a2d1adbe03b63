-- Creates the partitions that the given timestamps need and do not have yet: through
-- pg_partman when it manages the table, else one calendar month each, named as pg_partman 5
-- names them. Months are UTC months whatever the session's TimeZone. Back-dated events
-- (imports, restores) land in a real partition, never in the default one. Each partition is
-- made as a table of its own and then attached, which locks the log only in SHARE UPDATE
-- EXCLUSIVE mode, so appends to other months go on; only the new partition is protected, so
-- the cost per partition does not grow with their number. Returns how many were created.
CREATE OR REPLACE FUNCTION pyevents.ensure_partition_for(p_timestamps timestamptz[])
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
AS $$
DECLARE
    v_timestamp timestamptz;
    v_start timestamptz;
    v_name text;
    v_new regclass[];
    v_partman text;
    v_created integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(pyevents.lock_key('partitions'));
    -- What this function makes, it protects itself: the event trigger need not.
    PERFORM set_config('pyevents.syncing_partitions', 'on', true);
    v_partman := pyevents.partman_schema();
    -- Partitions made while the event trigger was missing are attached but not registered.
    PERFORM pyevents.register_partitions();
    FOREACH v_timestamp IN ARRAY ARRAY(SELECT DISTINCT t FROM unnest(p_timestamps) AS t WHERE t IS NOT NULL ORDER BY 1)
    LOOP
        CONTINUE WHEN EXISTS (
            SELECT 1 FROM pyevents.partitions p
            WHERE p.range_start <= v_timestamp AND p.range_end > v_timestamp
        );
        v_start := date_trunc('month', v_timestamp);
        IF v_partman IS NOT NULL THEN
            EXECUTE format(
                'SELECT %I.create_partition_time(p_parent_table := %L, p_partition_times := ARRAY[%L::timestamptz])',
                v_partman, 'pyevents.events', v_start
            );
            v_new := ARRAY(
                SELECT i.inhrelid::regclass FROM pg_inherits AS i
                WHERE i.inhparent = 'pyevents.events'::regclass
                  AND NOT EXISTS (SELECT 1 FROM pyevents.partitions AS p WHERE p.partition = i.inhrelid)
            );
            PERFORM pyevents.protect_partition(n) FROM unnest(v_new) AS n;
            PERFORM pyevents.register_partitions(v_new);
        ELSE
            v_name := pyevents.partition_name(v_start);
            EXECUTE format(
                'CREATE TABLE pyevents.%I (LIKE pyevents.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', v_name
            );
            EXECUTE format(
                'ALTER TABLE pyevents.events ATTACH PARTITION pyevents.%I FOR VALUES FROM (%L) TO (%L)',
                v_name, v_start, v_start + interval '1 month'
            );
            PERFORM pyevents.protect_partition(format('pyevents.%I', v_name)::regclass);
            PERFORM pyevents.register_partitions(ARRAY[format('pyevents.%I', v_name)::regclass]);
        END IF;
        IF NOT EXISTS (
            SELECT 1 FROM pyevents.partitions p
            WHERE p.range_start <= v_timestamp AND p.range_end > v_timestamp
        ) THEN
            PERFORM pyevents.raise_error('PE005', format('could not create a partition for timestamp %s', v_timestamp));
        END IF;
        v_created := v_created + 1;
    END LOOP;
    PERFORM set_config('pyevents.syncing_partitions', 'off', true);
    RETURN v_created;
END
$$;
COMMENT ON FUNCTION pyevents.ensure_partition_for(timestamptz[]) IS
    'Creates the month partitions (UTC) the given timestamps need, through pg_partman when it manages the log; returns how many. Called by appends.';
