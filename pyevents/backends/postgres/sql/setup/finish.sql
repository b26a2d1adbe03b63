-- Last step of every install and upgrade: premake the partitions of the coming months, and
-- give the planner statistics of the partitioned log, which autovacuum never analyzes (only
-- its partitions); schedule ANALYZE pyevents.events with ensure_partitions() to keep them fresh.
SELECT pyevents.ensure_partitions() AS partitions_created;
DO $analyze$
BEGIN
    IF (SELECT reltuples < 0 FROM pg_catalog.pg_class WHERE oid = 'pyevents.events'::regclass) THEN
        ANALYZE pyevents.events;
    END IF;
END
$analyze$;
