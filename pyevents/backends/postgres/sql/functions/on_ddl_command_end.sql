-- Event trigger function: when a partition of pyevents.events appears (CREATE TABLE ...
-- PARTITION OF, ATTACH PARTITION, pg_partman maintenance), protect and register it at once.
CREATE OR REPLACE FUNCTION pyevents.on_ddl_command_end()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- Never break unrelated DDL: do nothing while syncing or when the log does not exist.
    IF current_setting('pyevents.syncing_partitions', true) = 'on'
       OR to_regclass('pyevents.events') IS NULL THEN
        RETURN;
    END IF;
    IF EXISTS (
        SELECT 1
        FROM pg_event_trigger_ddl_commands() c
        JOIN pg_inherits i ON i.inhrelid = c.objid
        WHERE c.classid = 'pg_class'::regclass AND i.inhparent = 'pyevents.events'::regclass
    ) THEN
        PERFORM pyevents.sync_partitions();
    END IF;
END
$$;
