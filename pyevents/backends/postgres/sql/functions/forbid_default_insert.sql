-- Trigger function on the default partition: a row there could never be moved out of an
-- append-only table and would block creating its partition, so it is refused.
CREATE OR REPLACE FUNCTION pyevents.forbid_default_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pyevents.raise_error(
        'PE005',
        pg_catalog.format('no partition of pyevents.events covers timestamp %s', NEW.timestamp),
        'Append through pyevents.append_events, or run SELECT pyevents.ensure_partition_for(...) first.'
    );
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION pyevents.forbid_default_insert() IS
    'Trigger function on the default partition: refuses rows there, since they could never be moved to their month partition.';
