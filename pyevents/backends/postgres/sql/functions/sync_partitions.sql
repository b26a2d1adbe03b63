-- Brings the partition registry and the protection of every partition up to date with the
-- catalog (see register_partitions, protect_partition). The event trigger does this the moment
-- a partition appears; without it (no superuser at install), run it after making partitions
-- outside pyevents.
-- Runs as its caller, who must own the partitions (pyevents_owner, or a superuser).
CREATE OR REPLACE FUNCTION pyevents.sync_partitions()
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_partition regclass;
    v_count integer := 0;
    v_syncing constant text := current_setting('pyevents.syncing_partitions', true);
BEGIN
    -- ALTER TABLE below fires the DDL event trigger again; this flag stops the recursion.
    PERFORM set_config('pyevents.syncing_partitions', 'on', true);
    PERFORM pyevents.register_partitions();
    FOR v_partition IN
        SELECT i.inhrelid::regclass FROM pg_inherits AS i WHERE i.inhparent = 'pyevents.events'::regclass
    LOOP
        PERFORM pyevents.protect_partition(v_partition);
        v_count := v_count + 1;
    END LOOP;
    PERFORM set_config('pyevents.syncing_partitions', coalesce(v_syncing, 'off'), true);
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION pyevents.sync_partitions() IS
    'Registers and protects every partition; returns how many. Run it as a superuser or pyevents_owner after making partitions by hand where the event triggers are missing.';
