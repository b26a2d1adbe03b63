-- pyevents_retention: runs retention, and nothing else. apply_retention and
-- retention_maintenance run as the memberless owner (privileges/retention_owner.sql), so this
-- role holds no right on any table and is no member of the owner: a login granted it, even
-- after SET ROLE pyevents_retention, can remove events only through those functions.
GRANT USAGE ON SCHEMA pyevents TO pyevents_retention;
-- Earlier versions ran retention as this role, which then needed these helpers.
REVOKE EXECUTE ON FUNCTION
    pyevents.on_retention_path(),
    pyevents.sync_partitions(),
    pyevents.protect_partition(regclass),
    pyevents.register_partitions(regclass[])
FROM pyevents_retention;
GRANT EXECUTE ON FUNCTION pyevents.apply_retention(jsonb, boolean) TO pyevents_retention;
GRANT EXECUTE ON PROCEDURE pyevents.retention_maintenance() TO pyevents_retention;
