-- Event trigger: partitions made outside pyevents (pg_partman maintenance, a DBA's ATTACH)
-- get their TRUNCATE trigger and registry entry at once. Creating it needs a superuser;
-- without one, run SELECT pyevents.sync_partitions() after making partitions by hand.
DO $partition_ddl$
BEGIN
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        DROP EVENT TRIGGER IF EXISTS pyevents_partition_ddl;
        CREATE EVENT TRIGGER pyevents_partition_ddl ON ddl_command_end
            WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
            EXECUTE FUNCTION pyevents.on_ddl_command_end();
    ELSE
        RAISE WARNING 'pyevents: not a superuser, so the partition event trigger is not installed; '
                      'run SELECT pyevents.sync_partitions() after creating partitions by hand';
    END IF;
END
$partition_ddl$;
