-- The event_id index of the log is append-only like the log.
-- ENABLE ALWAYS: session_replication_role = replica must not bypass it.
CREATE OR REPLACE TRIGGER event_ids_forbid_change
    BEFORE UPDATE OR DELETE ON pyevents.event_ids
    FOR EACH ROW EXECUTE FUNCTION pyevents.forbid_change();
ALTER TABLE pyevents.event_ids ENABLE ALWAYS TRIGGER event_ids_forbid_change;
