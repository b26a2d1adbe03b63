-- First step of every install and upgrade: refuse, before anything changes, to install a store
-- under other role names than it was installed with (pyevents.store_settings): its objects
-- and grants belong to those roles. Stores made before the prefix was recorded use the default.
DO $role_prefix$
DECLARE
    -- The owner's name as rendered, less 'owner': the prefix of this install.
    v_prefix constant text := left('pyevents_owner', -length('owner'));
    v_installed text;
BEGIN
    IF to_regprocedure('pyevents.schema_version()') IS NULL THEN
        RETURN;
    END IF;
    IF to_regclass('pyevents.store_settings') IS NOT NULL THEN
        SELECT s.role_prefix INTO v_installed FROM pyevents.store_settings AS s;
    END IF;
    v_installed := coalesce(v_installed, 'pyevents_');
    IF v_installed <> v_prefix THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = pg_catalog.format(
                'this store was installed with role prefix %L (roles %sowner, %swriter, ...), not %L',
                v_installed, v_installed, v_installed, v_prefix),
            HINT = pg_catalog.format('Set [postgresql] role_prefix = %L, or install into another database.', v_installed);
    END IF;
END
$role_prefix$;
