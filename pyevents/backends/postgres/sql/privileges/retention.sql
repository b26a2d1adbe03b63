-- pyevents_retention: the guards on removing events ask pyevents.on_retention_path() in the
-- retention functions' own context, which runs as this role; when they detach or drop a
-- partition, the event trigger brings the registry up to date in that context too.
GRANT USAGE ON SCHEMA pyevents TO pyevents_retention;
GRANT EXECUTE ON FUNCTION
    pyevents.on_retention_path(),
    pyevents.sync_partitions(),
    pyevents.protect_partition(regclass),
    pyevents.register_partitions(regclass[])
TO pyevents_retention;
