-- Event trigger function: refuses DROP of the event log, its index tables, or a partition that
-- holds events, except on retention's path. A dropped partition's rows are gone by now, so
-- "holds events" is read from event_ids (never removed but by retention) over its registered
-- range. It fires for every role's DROP in the database, so it looks only at the dropped
-- objects' names until one of them is a pyevents table. The registry forgets what was dropped.
CREATE OR REPLACE FUNCTION pyevents.on_sql_drop()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_dropped record;
    v_holds_events boolean;
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_event_trigger_dropped_objects() AS d WHERE d.object_type = 'table' AND d.schema_name = 'pyevents'
    ) THEN
        RETURN;
    END IF;
    FOR v_dropped IN
        SELECT d.objid, d.object_identity, d.object_name
        FROM pg_event_trigger_dropped_objects() AS d
        WHERE d.object_type = 'table' AND d.schema_name = 'pyevents'
    LOOP
        EXIT WHEN pyevents.on_retention_path();
        IF v_dropped.object_name IN ('events', 'event_ids', 'event_tags') THEN
            PERFORM pyevents.raise_error(
                'PE004',
                format('dropping %s is not allowed: it is part of the pyevents event log', v_dropped.object_identity),
                'To remove the store on purpose, a superuser first runs ALTER EVENT TRIGGER pyevents_guard_drop DISABLE.'
            );
        END IF;
        IF to_regclass('pyevents.event_ids') IS NOT NULL THEN
            SELECT EXISTS (
                SELECT 1 FROM pyevents.partitions AS p
                JOIN pyevents.event_ids AS i ON i.timestamp >= p.range_start AND i.timestamp < p.range_end
                WHERE p.partition = v_dropped.objid
            ) INTO v_holds_events;
            IF v_holds_events THEN
                PERFORM pyevents.raise_error(
                    'PE004',
                    format('dropping partition %s is not allowed: it holds events and pyevents is append-only',
                           v_dropped.object_identity),
                    'Events are removed only by retention policies.'
                );
            END IF;
        END IF;
    END LOOP;
    IF to_regclass('pyevents.partitions') IS NOT NULL THEN
        PERFORM pyevents.register_partitions('{}');  -- forget the dropped partitions
    END IF;
END
$$;
COMMENT ON FUNCTION pyevents.on_sql_drop() IS
    'Event trigger function: refuses DROP of the log, its index tables or a partition holding events, except for retention; the registry forgets what was dropped.';
