-- The schema of pg_partman when it manages pyevents.events, else NULL.
CREATE OR REPLACE FUNCTION pyevents.partman_schema()
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_schema text;
    v_managed boolean;
BEGIN
    SELECT n.nspname INTO v_schema
    FROM pg_extension e
    JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_partman';
    -- Without access to its configuration, pg_partman was not handed the log by pyevents.
    IF v_schema IS NULL OR NOT has_schema_privilege(v_schema, 'USAGE')
       OR NOT has_table_privilege(format('%I.part_config', v_schema), 'SELECT') THEN
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.part_config WHERE parent_table = %L)', v_schema, 'pyevents.events')
        INTO v_managed;
    RETURN CASE WHEN v_managed THEN v_schema END;
END
$$;
COMMENT ON FUNCTION pyevents.partman_schema() IS
    'Internal: the schema of pg_partman when it manages pyevents.events, else NULL.';
