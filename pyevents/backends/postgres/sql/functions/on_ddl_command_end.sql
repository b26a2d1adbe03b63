-- Event trigger function: when a partition of pyevents.events appears (CREATE TABLE ...
-- PARTITION OF, ATTACH PARTITION by hand or by pg_partman maintenance, whose command object is
-- the parent), protect and register it at once; refuse to DETACH a partition that holds events,
-- except on retention's path. It fires for every role's DDL in the database, so it decides from
-- the catalog alone (which needs no rights) whether the command touched the log at all, and
-- does nothing otherwise.
CREATE OR REPLACE FUNCTION pyevents.on_ddl_command_end()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_log oid;
    v_detached record;
    v_holds_events boolean;
BEGIN
    IF current_setting('pyevents.syncing_partitions', true) = 'on' THEN
        RETURN;
    END IF;
    SELECT c.oid INTO v_log
    FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname = 'pyevents' AND c.relname = 'events';
    IF v_log IS NULL OR NOT EXISTS (
        SELECT 1
        FROM pg_event_trigger_ddl_commands() AS d
        WHERE d.classid = 'pg_class'::regclass
          AND (d.objid = v_log OR EXISTS (SELECT 1 FROM pg_inherits AS i WHERE i.inhrelid = d.objid AND i.inhparent = v_log))
    ) THEN
        RETURN;
    END IF;
    -- Registered partitions that are no longer attached were just detached.
    FOR v_detached IN
        SELECT p.partition
        FROM pyevents.partitions AS p
        WHERE NOT EXISTS (SELECT 1 FROM pg_inherits AS i WHERE i.inhrelid = p.partition AND i.inhparent = v_log)
          AND EXISTS (SELECT 1 FROM pg_class AS c WHERE c.oid = p.partition)
    LOOP
        EXIT WHEN pyevents.on_retention_path();
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', v_detached.partition) INTO v_holds_events;
        IF v_holds_events THEN
            PERFORM pyevents.raise_error(
                'PE004',
                format('detaching partition %s is not allowed: it holds events and pyevents is append-only',
                       v_detached.partition),
                'Events are removed only by retention policies.'
            );
        END IF;
    END LOOP;
    PERFORM pyevents.sync_partitions();
END
$$;
COMMENT ON FUNCTION pyevents.on_ddl_command_end() IS
    'Event trigger function: protects and registers a new partition of pyevents.events at once; refuses to DETACH one that holds events, except for retention.';
