-- The event_id index of the log is append-only like the log.
-- Once per statement, not per row: the table is not partitioned, so no statement can reach
-- its rows past it, and retention's removal of a million events' rows does not run this
-- function for each of them (partitions of the log keep row triggers: see protect_partition).
-- ENABLE ALWAYS: session_replication_role = replica must not bypass it.
-- Left alone when already in place: re-creating it would lock the table against appends.
DO $event_ids_forbid_change$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_trigger
        WHERE tgrelid = 'pyevents.event_ids'::regclass AND tgname = 'event_ids_forbid_change'
          AND tgfoid = 'pyevents.forbid_change()'::regprocedure AND tgenabled = 'A'
          AND tgtype = 26  -- STATEMENT BEFORE | DELETE | UPDATE
    ) THEN
        CREATE OR REPLACE TRIGGER event_ids_forbid_change
            BEFORE UPDATE OR DELETE ON pyevents.event_ids
            FOR EACH STATEMENT EXECUTE FUNCTION pyevents.forbid_change();
        ALTER TABLE pyevents.event_ids ENABLE ALWAYS TRIGGER event_ids_forbid_change;
    END IF;
END
$event_ids_forbid_change$;
