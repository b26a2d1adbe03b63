-- Roles of pyevents, cluster-wide and created only when missing (re-running is harmless).
-- None can log in: applications log in as their own users and are granted one of these.
DO $roles$
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY[
        'pyevents_owner',      -- owns every object; no members
        'pyevents_writer',     -- EXECUTE on the append and read functions
        'pyevents_reader',     -- EXECUTE on the read functions
        'pyevents_auditor',    -- reads through the redacting view
        'pyevents_retention'   -- owns the functions that may remove data
    ] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = v_role) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', v_role);
        END IF;
    END LOOP;
END
$roles$;
