-- pyevents_retention: owns the retention functions (SECURITY DEFINER), so only code running
-- inside them is on retention's path. It is a member of pyevents_owner because dropping a
-- partition needs its owner's rights, and it holds DELETE on the event tables (revoked from
-- the owner itself). Grant pyevents_retention only to whoever runs retention (or pg_cron's
-- job owner); nobody else may execute these functions.
-- A managed service's master user (no superuser) must be a member to hand functions to it.
DO $retention_member$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)
       AND NOT pg_catalog.pg_has_role('pyevents_retention', 'MEMBER') THEN
        EXECUTE pg_catalog.format('GRANT pyevents_retention TO %I', current_user);
    END IF;
END
$retention_member$;
GRANT pyevents_owner TO pyevents_retention;
GRANT DELETE ON pyevents.events, pyevents.event_ids, pyevents.event_tags TO pyevents_retention;
ALTER FUNCTION pyevents.apply_retention(jsonb, boolean) OWNER TO pyevents_retention;
ALTER PROCEDURE pyevents.retention_maintenance() OWNER TO pyevents_retention;
REVOKE ALL ON FUNCTION pyevents.apply_retention(jsonb, boolean) FROM PUBLIC;
REVOKE ALL ON PROCEDURE pyevents.retention_maintenance() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pyevents.apply_retention(jsonb, boolean) TO pyevents_retention;
GRANT EXECUTE ON PROCEDURE pyevents.retention_maintenance() TO pyevents_retention;
