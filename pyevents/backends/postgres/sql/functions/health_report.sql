-- What readiness checks need, in one call: the installed schema (its version and newest
-- migration, rendered at install), how far partitions are premade, and the age of whatever
-- holds back the xmin horizon (long transactions, prepared transactions, replication slots),
-- which stalls followers (see stream_frontier) and vacuum.
CREATE OR REPLACE FUNCTION pyevents.health_report()
RETURNS jsonb
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object(
        'schema_version', pyevents.schema_version(),
        'schema_migration', '@PYEVENTS_MIGRATION@'::text,
        'server_time', now(),
        'partitions_premade_until', (SELECT max(p.range_end) FROM pyevents.partitions AS p),
        'oldest_transaction_seconds', (
            SELECT extract(epoch FROM now() - min(a.xact_start))
            FROM pg_catalog.pg_stat_activity AS a
            WHERE (a.backend_xmin IS NOT NULL OR a.backend_xid IS NOT NULL) AND a.pid <> pg_backend_pid()
        ),
        'oldest_prepared_seconds', (
            SELECT extract(epoch FROM now() - min(x.prepared)) FROM pg_catalog.pg_prepared_xacts AS x
        ),
        'slot_xmin_age', (
            SELECT max(greatest(age(s.xmin), age(s.catalog_xmin))) FROM pg_catalog.pg_replication_slots AS s
        )
    )
$$;
COMMENT ON FUNCTION pyevents.health_report() IS
    'Readiness facts as JSON: installed schema, partitions premade ahead, age of what holds back the xmin horizon. For readers and writers (health checks).';
