-- Event triggers: partitions made outside pyevents (pg_partman maintenance, a DBA's CREATE or
-- ATTACH) are protected and registered at once, and DETACH or DROP of what holds events is
-- refused. Creating them needs a superuser; without one, the warning below (and `pyevents db
-- status`, pyevents.missing_protection()) says what is missing. Left alone when already right,
-- so an upgrade takes no lock for them.
DO $partition_ddl$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        RAISE WARNING 'pyevents: not a superuser, so the event triggers are not installed: partitions made '
                      'outside pyevents stay unprotected until SELECT pyevents.sync_partitions(), and DROP or '
                      'DETACH of partitions holding events is not refused';
        RETURN;
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_event_trigger
        WHERE evtname = 'pyevents_partition_ddl' AND evtevent = 'ddl_command_end' AND evtenabled = 'O'
          AND evtfoid = 'pyevents.on_ddl_command_end()'::regprocedure
          AND evttags = ARRAY['CREATE TABLE', 'ALTER TABLE']
    ) THEN
        DROP EVENT TRIGGER IF EXISTS pyevents_partition_ddl;
        CREATE EVENT TRIGGER pyevents_partition_ddl ON ddl_command_end
            WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
            EXECUTE FUNCTION pyevents.on_ddl_command_end();
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_event_trigger
        WHERE evtname = 'pyevents_guard_drop' AND evtevent = 'sql_drop' AND evtenabled = 'O'
          AND evtfoid = 'pyevents.on_sql_drop()'::regprocedure
          AND evttags = ARRAY['DROP TABLE', 'DROP OWNED']
    ) THEN
        DROP EVENT TRIGGER IF EXISTS pyevents_guard_drop;
        CREATE EVENT TRIGGER pyevents_guard_drop ON sql_drop
            WHEN TAG IN ('DROP TABLE', 'DROP OWNED')
            EXECUTE FUNCTION pyevents.on_sql_drop();
    END IF;
END
$partition_ddl$;
