-- What protection this database lacks, one row each, none when complete. Without a superuser
-- at install the event triggers are missing (CREATE EVENT TRIGGER needs one); a superuser can
-- also disable them.
-- SELECT * FROM pyevents.missing_protection();
CREATE OR REPLACE FUNCTION pyevents.missing_protection()
RETURNS SETOF text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'event trigger pyevents_partition_ddl is missing or disabled: partitions made outside pyevents '
           '(pg_partman maintenance, CREATE TABLE ... PARTITION OF, ATTACH PARTITION) are neither protected '
           'nor registered until SELECT pyevents.sync_partitions() runs, and DETACH PARTITION of a partition '
           'holding events is not refused'
    WHERE NOT EXISTS (
        SELECT 1 FROM pg_event_trigger
        WHERE evtname = 'pyevents_partition_ddl' AND evtenabled <> 'D'
    )
    UNION ALL
    SELECT 'event trigger pyevents_guard_drop is missing or disabled: DROP TABLE of a partition holding events, '
           'or of the log itself, is not refused'
    WHERE NOT EXISTS (
        SELECT 1 FROM pg_event_trigger
        WHERE evtname = 'pyevents_guard_drop' AND evtenabled <> 'D'
    )
$$;
COMMENT ON FUNCTION pyevents.missing_protection() IS
    'What protection this database lacks (e.g. event triggers when installed without a superuser), one row each; none when complete. For pyevents_auditor.';
