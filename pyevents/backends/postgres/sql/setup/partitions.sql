-- Partition set-up of every install and upgrade: hand upkeep to pg_partman when it is
-- installed, make sure the (always empty) default partition exists, and protect and register
-- every partition.
DO $partitions$
BEGIN
    PERFORM pyevents.register_partman();
    IF to_regclass('pyevents.events_default') IS NULL THEN
        CREATE TABLE pyevents.events_default PARTITION OF pyevents.events DEFAULT;
    END IF;
    PERFORM pyevents.sync_partitions();
END
$partitions$;
