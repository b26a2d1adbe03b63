-- TRUNCATE of the log is refused (sync_partitions adds this trigger to every partition).
-- ENABLE ALWAYS: session_replication_role = replica must not bypass it.
CREATE OR REPLACE TRIGGER events_forbid_truncate
    BEFORE TRUNCATE ON pyevents.events
    FOR EACH STATEMENT EXECUTE FUNCTION pyevents.forbid_change();
ALTER TABLE pyevents.events ENABLE ALWAYS TRIGGER events_forbid_truncate;
