-- TRUNCATE of the log is refused (sync_partitions adds this trigger to every partition).
-- ENABLE ALWAYS: session_replication_role = replica must not bypass it.
-- Left alone when already in place: re-creating it would lock the table against appends.
DO $events_forbid_truncate$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_trigger
        WHERE tgrelid = 'pyevents.events'::regclass AND tgname = 'events_forbid_truncate'
          AND tgfoid = 'pyevents.forbid_change()'::regprocedure AND tgenabled = 'A'
          AND tgtype = 34  -- STATEMENT BEFORE | TRUNCATE
    ) THEN
        CREATE OR REPLACE TRIGGER events_forbid_truncate
            BEFORE TRUNCATE ON pyevents.events
            FOR EACH STATEMENT EXECUTE FUNCTION pyevents.forbid_change();
        ALTER TABLE pyevents.events ENABLE ALWAYS TRIGGER events_forbid_truncate;
    END IF;
END
$events_forbid_truncate$;
