-- Trigger function: history is never rewritten. Fires on UPDATE, DELETE and TRUNCATE of the
-- event tables and every partition, for every role, superusers included. Only retention's own
-- path may remove rows (DELETE, TRUNCATE); nobody may UPDATE them.
CREATE OR REPLACE FUNCTION pyevents.forbid_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE') AND pyevents.on_retention_path() THEN
        RETURN OLD;  -- NULL for TRUNCATE, which is a statement trigger
    END IF;
    PERFORM pyevents.raise_error(
        'PE004',
        pg_catalog.format('%s on %I.%I is not allowed: pyevents is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME),
        'Events are removed only by retention policies.'
    );
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION pyevents.forbid_change() IS
    'Trigger function: refuses UPDATE, DELETE and TRUNCATE of the log, its index tables and every partition, superusers included; only retention may remove rows.';
