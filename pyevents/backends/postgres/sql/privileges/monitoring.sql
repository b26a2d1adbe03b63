-- Monitoring: health and storage figures for every application role. health_report runs as
-- pyevents_owner, which must see other sessions' transaction start times (pg_read_all_stats)
-- to find the oldest one; an installer who may not grant it leaves that figure partial.
GRANT EXECUTE ON FUNCTION pyevents.health_report(), pyevents.storage_metrics() TO pyevents_reader, pyevents_writer;
DO $monitoring$
BEGIN
    GRANT pg_read_all_stats TO pyevents_owner;
EXCEPTION
    WHEN insufficient_privilege THEN
        RAISE NOTICE 'pyevents_owner was not granted pg_read_all_stats: health sees only its own sessions';
END
$monitoring$;
