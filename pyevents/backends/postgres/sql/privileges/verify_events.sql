-- Recomputing every event's checksum is a scan of the whole log: the auditor's, like verify().
GRANT EXECUTE ON FUNCTION pyevents.verify_events() TO pyevents_auditor;
