-- TRUNCATE of the seals is refused.
-- ENABLE ALWAYS: session_replication_role = replica must not bypass it.
-- Left alone when already in place: re-creating it would lock the table against sealing.
DO $seals_forbid_truncate$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_trigger
        WHERE tgrelid = 'pyevents.seals'::regclass AND tgname = 'seals_forbid_truncate'
          AND tgfoid = 'pyevents.forbid_change()'::regprocedure AND tgenabled = 'A'
          AND tgtype = 34  -- STATEMENT BEFORE | TRUNCATE
    ) THEN
        CREATE OR REPLACE TRIGGER seals_forbid_truncate
            BEFORE TRUNCATE ON pyevents.seals
            FOR EACH STATEMENT EXECUTE FUNCTION pyevents.forbid_change();
        ALTER TABLE pyevents.seals ENABLE ALWAYS TRIGGER seals_forbid_truncate;
    END IF;
END
$seals_forbid_truncate$;
