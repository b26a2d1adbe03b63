-- TRUNCATE of the tag index is refused.
-- ENABLE ALWAYS: session_replication_role = replica must not bypass it.
CREATE OR REPLACE TRIGGER event_tags_forbid_truncate
    BEFORE TRUNCATE ON pyevents.event_tags
    FOR EACH STATEMENT EXECUTE FUNCTION pyevents.forbid_change();
ALTER TABLE pyevents.event_tags ENABLE ALWAYS TRIGGER event_tags_forbid_truncate;
