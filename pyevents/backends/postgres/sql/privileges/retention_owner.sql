-- Retention's functions belong to pyevents_owner like every function (privileges/ownership.sql),
-- SECURITY DEFINER: a role with members that owned them would let each member become it
-- (SET ROLE) and delete, drop or detach directly, past every guard that trusts current_user.
-- The owner has no members but a managed service's installer. It holds DELETE on the event
-- tables, which apply_retention needs (UPDATE and TRUNCATE stay revoked, privileges/revoke.sql),
-- and the row triggers let a DELETE through only on retention's path.
GRANT DELETE ON pyevents.events, pyevents.event_ids, pyevents.event_tags TO pyevents_owner;
-- Earlier versions made pyevents_retention own these functions, hold DELETE itself and be a
-- member of pyevents_owner: take all of it back. On PostgreSQL 16 and later a membership is
-- revoked by (or on behalf of) whoever granted it.
REVOKE ALL ON pyevents.events, pyevents.event_ids, pyevents.event_tags FROM pyevents_retention;
DO $earlier_retention_owner$
DECLARE
    v_grantor text;
BEGIN
    FOR v_grantor IN
        SELECT pg_catalog.pg_get_userbyid(m.grantor)
        FROM pg_catalog.pg_auth_members AS m
        WHERE m.roleid = 'pyevents_owner'::regrole AND m.member = 'pyevents_retention'::regrole
    LOOP
        BEGIN
            IF pg_catalog.current_setting('server_version_num')::integer >= 160000 THEN
                EXECUTE pg_catalog.format('REVOKE pyevents_owner FROM pyevents_retention GRANTED BY %I', v_grantor);
            ELSE
                REVOKE pyevents_owner FROM pyevents_retention;
            END IF;
        EXCEPTION
            WHEN insufficient_privilege THEN
                RAISE WARNING 'pyevents: pyevents_retention is still a member of pyevents_owner, so its members can become the owner; run REVOKE pyevents_owner FROM pyevents_retention GRANTED BY % as a superuser',
                    pg_catalog.quote_ident(v_grantor);
        END;
    END LOOP;
END
$earlier_retention_owner$;
