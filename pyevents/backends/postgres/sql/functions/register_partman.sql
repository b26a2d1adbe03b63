-- Hands partition upkeep to pg_partman when it is installed in this database (4.x or 5.x;
-- their create_parent signatures differ, so every argument is named). Only a log without
-- partitions can be handed over (pg_partman cannot adopt ranges it did not name); otherwise a
-- warning says pyevents keeps making partitions. Returns whether pg_partman manages the log.
-- pg_partman draws month boundaries in the session's TimeZone: UTC here, so months are UTC.
CREATE OR REPLACE FUNCTION pyevents.register_partman(p_premake integer DEFAULT 3)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
AS $$
DECLARE
    v_schema text;
    v_version text;
BEGIN
    IF pyevents.partman_schema() IS NOT NULL THEN
        RETURN true;
    END IF;
    SELECT n.nspname, e.extversion INTO v_schema, v_version
    FROM pg_extension e
    JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_partman';
    IF v_schema IS NULL THEN
        RETURN false;
    END IF;
    IF EXISTS (
        SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'pyevents.events'::regclass AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
    ) THEN
        RAISE WARNING 'pyevents: pg_partman % is installed but pyevents.events already has partitions; '
                      'pyevents keeps creating them itself (SELECT pyevents.ensure_partitions())', v_version;
        RETURN false;
    END IF;
    -- pg_partman creates the default partition itself; ours is empty by construction.
    DROP TABLE IF EXISTS pyevents.events_default;
    EXECUTE format(
        'SELECT %I.create_parent(p_parent_table := %L, p_control := %L, p_type := %L, '
        'p_interval := %L, p_premake := %s)',
        v_schema, 'pyevents.events', 'timestamp',
        CASE WHEN split_part(v_version, '.', 1)::integer >= 5 THEN 'range' ELSE 'native' END,
        CASE WHEN split_part(v_version, '.', 1)::integer >= 5 THEN '1 month' ELSE 'monthly' END,
        p_premake
    );
    RETURN true;
END
$$;
COMMENT ON FUNCTION pyevents.register_partman(integer) IS
    'Hands partition upkeep to pg_partman when it is installed and the log has no partitions yet; returns whether pg_partman manages the log. Run at install.';
