-- Rows of the log are never updated or deleted, by any role; cloned to every partition.
-- ENABLE ALWAYS: session_replication_role = replica must not bypass it.
-- Left alone when already in place: re-creating it would lock the table against appends.
DO $events_forbid_change$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_trigger
        WHERE tgrelid = 'pyevents.events'::regclass AND tgname = 'events_forbid_change'
          AND tgfoid = 'pyevents.forbid_change()'::regprocedure AND tgenabled = 'A'
          AND tgtype = 27  -- ROW | BEFORE | DELETE | UPDATE
    ) THEN
        CREATE OR REPLACE TRIGGER events_forbid_change
            BEFORE UPDATE OR DELETE ON pyevents.events
            FOR EACH ROW EXECUTE FUNCTION pyevents.forbid_change();
        ALTER TABLE pyevents.events ENABLE ALWAYS TRIGGER events_forbid_change;
    END IF;
END
$events_forbid_change$;
