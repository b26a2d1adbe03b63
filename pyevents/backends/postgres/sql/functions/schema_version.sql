-- The version of the pyevents schema installed in this database.
CREATE OR REPLACE FUNCTION pyevents.schema_version()
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT '@PYEVENTS_VERSION@'::text
$$;
COMMENT ON FUNCTION pyevents.schema_version() IS
    'Version of the pyevents schema installed in this database. Readers, writers and auditors may call it.';
