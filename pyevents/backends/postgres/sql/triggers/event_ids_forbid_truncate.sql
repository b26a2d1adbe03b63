-- TRUNCATE of the event_id index is refused.
-- ENABLE ALWAYS: session_replication_role = replica must not bypass it.
-- Left alone when already in place: re-creating it would lock the table against appends.
DO $event_ids_forbid_truncate$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_trigger
        WHERE tgrelid = 'pyevents.event_ids'::regclass AND tgname = 'event_ids_forbid_truncate'
          AND tgfoid = 'pyevents.forbid_change()'::regprocedure AND tgenabled = 'A'
          AND tgtype = 34  -- STATEMENT BEFORE | TRUNCATE
    ) THEN
        CREATE OR REPLACE TRIGGER event_ids_forbid_truncate
            BEFORE TRUNCATE ON pyevents.event_ids
            FOR EACH STATEMENT EXECUTE FUNCTION pyevents.forbid_change();
        ALTER TABLE pyevents.event_ids ENABLE ALWAYS TRIGGER event_ids_forbid_truncate;
    END IF;
END
$event_ids_forbid_truncate$;
