-- The default partition stays empty: rows there could never leave an append-only table.
-- ENABLE ALWAYS: session_replication_role = replica must not bypass it.
CREATE OR REPLACE TRIGGER events_forbid_default_insert
    BEFORE INSERT ON pyevents.events_default
    FOR EACH ROW EXECUTE FUNCTION pyevents.forbid_default_insert();
ALTER TABLE pyevents.events_default ENABLE ALWAYS TRIGGER events_forbid_default_insert;
