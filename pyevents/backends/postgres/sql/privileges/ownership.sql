-- Every pyevents object belongs to pyevents_owner (NOLOGIN, no members), so SECURITY DEFINER
-- functions run with its rights and nobody logs in as the owner of the data. Objects already
-- owned by it are left alone: ALTER ... OWNER locks a table even when nothing changes, which
-- would make an upgrade wait for (and deadlock with) running appends.
DO $ownership$
DECLARE
    v_object record;
BEGIN
    FOR v_object IN
        -- tables only: the position sequence follows the table that owns it
        SELECT format('ALTER TABLE %s OWNER TO pyevents_owner', c.oid::regclass) AS statement
        FROM pg_catalog.pg_class c
        WHERE c.relnamespace = 'pyevents'::regnamespace
          AND c.relkind IN ('r', 'p')
          AND c.relname NOT LIKE '\_yoyo%' AND c.relname <> 'yoyo_lock'
          AND c.relowner <> 'pyevents_owner'::regrole
        UNION ALL
        SELECT format('ALTER ROUTINE %s OWNER TO pyevents_owner', p.oid::regprocedure)
        FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = 'pyevents'::regnamespace
          AND p.proowner <> 'pyevents_owner'::regrole
    LOOP
        EXECUTE v_object.statement;
    END LOOP;
END
$ownership$;
