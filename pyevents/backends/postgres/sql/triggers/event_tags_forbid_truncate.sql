-- TRUNCATE of the tag index is refused.
-- ENABLE ALWAYS: session_replication_role = replica must not bypass it.
-- Left alone when already in place: re-creating it would lock the table against appends.
DO $event_tags_forbid_truncate$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_trigger
        WHERE tgrelid = 'pyevents.event_tags'::regclass AND tgname = 'event_tags_forbid_truncate'
          AND tgfoid = 'pyevents.forbid_change()'::regprocedure AND tgenabled = 'A'
          AND tgtype = 34  -- STATEMENT BEFORE | TRUNCATE
    ) THEN
        CREATE OR REPLACE TRIGGER event_tags_forbid_truncate
            BEFORE TRUNCATE ON pyevents.event_tags
            FOR EACH STATEMENT EXECUTE FUNCTION pyevents.forbid_change();
        ALTER TABLE pyevents.event_tags ENABLE ALWAYS TRIGGER event_tags_forbid_truncate;
    END IF;
END
$event_tags_forbid_truncate$;
