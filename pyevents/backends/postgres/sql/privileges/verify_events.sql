-- Readers may run the event checks, as they may run verify().
GRANT EXECUTE ON FUNCTION pyevents.verify_events() TO pyevents_reader;
