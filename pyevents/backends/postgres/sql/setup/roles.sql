-- Roles of pyevents, cluster-wide and created only when missing (re-running is harmless).
-- None can log in: applications log in as their own users and are granted one or more of
-- these (README, "PostgreSQL"). An installer that is not a superuser (a managed service's
-- master user, with CREATEROLE) makes itself a member of pyevents_owner, which it needs to
-- hand the objects it creates to that role.
DO $roles$
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY[
        'pyevents_owner',      -- owns every object; no members but a non-superuser installer
        'pyevents_writer',     -- EXECUTE on the append functions only
        'pyevents_reader',     -- EXECUTE on the query functions and get_checkpoint
        'pyevents_consumer',   -- EXECUTE on save_checkpoint: moves subscriptions' checkpoints
        'pyevents_auditor',    -- EXECUTE on verify and the counting functions
        'pyevents_retention'   -- EXECUTE on the retention functions, which run as the owner
    ] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = v_role) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', v_role);
        END IF;
    END LOOP;
    IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)
       AND NOT pg_catalog.pg_has_role('pyevents_owner', 'MEMBER') THEN
        EXECUTE pg_catalog.format('GRANT pyevents_owner TO %I', current_user);
    END IF;
END
$roles$;
