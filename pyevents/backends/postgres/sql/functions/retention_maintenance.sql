-- The scheduled form of retention, for pg_cron or any scheduler that runs SQL:
--   SELECT cron.schedule('pyevents-retention', '0 * * * *', 'CALL pyevents.retention_maintenance()');
-- Applies the policy stored by the last `pyevents retention apply` (none: infinite, which
-- still records the run). Owned by pyevents_owner like apply_retention, executable only by
-- pyevents_retention.
CREATE OR REPLACE PROCEDURE pyevents.retention_maintenance()
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_report jsonb;
BEGIN
    v_report := pyevents.apply_retention(NULL, false);
    RAISE NOTICE 'pyevents retention: % events removed', v_report ->> 'removed';
END
$$;
COMMENT ON PROCEDURE pyevents.retention_maintenance() IS
    'Scheduled retention (pg_cron): applies the policy stored by the last retention run. Only pyevents_retention may call it.';
