-- Records the checksum of every appended event (see record_checksums). One statement-level
-- trigger per INSERT, not one call per row. ENABLE ALWAYS: replication roles record them too.
CREATE OR REPLACE TRIGGER events_record_checksums
    AFTER INSERT ON pyevents.events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION pyevents.record_checksums();
ALTER TABLE pyevents.events ENABLE ALWAYS TRIGGER events_record_checksums;
