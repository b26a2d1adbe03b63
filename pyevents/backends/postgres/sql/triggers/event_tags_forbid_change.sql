-- The tag index of the log is append-only like the log.
-- ENABLE ALWAYS: session_replication_role = replica must not bypass it.
-- Left alone when already in place: re-creating it would lock the table against appends.
DO $event_tags_forbid_change$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_trigger
        WHERE tgrelid = 'pyevents.event_tags'::regclass AND tgname = 'event_tags_forbid_change'
          AND tgfoid = 'pyevents.forbid_change()'::regprocedure AND tgenabled = 'A'
          AND tgtype = 27  -- ROW | BEFORE | DELETE | UPDATE
    ) THEN
        CREATE OR REPLACE TRIGGER event_tags_forbid_change
            BEFORE UPDATE OR DELETE ON pyevents.event_tags
            FOR EACH ROW EXECUTE FUNCTION pyevents.forbid_change();
        ALTER TABLE pyevents.event_tags ENABLE ALWAYS TRIGGER event_tags_forbid_change;
    END IF;
END
$event_tags_forbid_change$;
