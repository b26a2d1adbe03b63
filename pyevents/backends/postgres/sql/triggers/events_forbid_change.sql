-- Rows of the log are never updated or deleted, by any role; cloned to every partition.
-- ENABLE ALWAYS: session_replication_role = replica must not bypass it.
CREATE OR REPLACE TRIGGER events_forbid_change
    BEFORE UPDATE OR DELETE ON pyevents.events
    FOR EACH ROW EXECUTE FUNCTION pyevents.forbid_change();
ALTER TABLE pyevents.events ENABLE ALWAYS TRIGGER events_forbid_change;
