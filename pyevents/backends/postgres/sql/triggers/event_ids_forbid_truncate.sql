-- TRUNCATE of the event_id index is refused.
-- ENABLE ALWAYS: session_replication_role = replica must not bypass it.
CREATE OR REPLACE TRIGGER event_ids_forbid_truncate
    BEFORE TRUNCATE ON pyevents.event_ids
    FOR EACH STATEMENT EXECUTE FUNCTION pyevents.forbid_change();
ALTER TABLE pyevents.event_ids ENABLE ALWAYS TRIGGER event_ids_forbid_truncate;
