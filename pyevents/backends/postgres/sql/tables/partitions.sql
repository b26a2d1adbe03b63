-- Description of the partition registry.
COMMENT ON TABLE pyevents.partitions IS
    'The month partitions of pyevents.events and the range each covers; appends consult it, the event triggers and sync_partitions() keep it.';
