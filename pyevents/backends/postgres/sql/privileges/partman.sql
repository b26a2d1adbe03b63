-- When pg_partman manages the log, the owner role runs its functions (appends create
-- back-dated partitions through create_partition_time), as pg_partman's documentation asks
-- for a non-superuser role.
DO $partman$
DECLARE
    v_schema text := pyevents.partman_schema();
BEGIN
    IF v_schema IS NOT NULL THEN
        EXECUTE format('GRANT ALL ON SCHEMA %I TO pyevents_owner', v_schema);
        EXECUTE format('GRANT ALL ON ALL TABLES IN SCHEMA %I TO pyevents_owner', v_schema);
        EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA %I TO pyevents_owner', v_schema);
    END IF;
END
$partman$;
