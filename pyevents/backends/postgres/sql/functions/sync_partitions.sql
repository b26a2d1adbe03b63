-- Brings the partition registry and the per-partition triggers up to date with the catalog.
-- Runs after any partition is created, by pyevents or by pg_partman: TRUNCATE triggers are not
-- cloned to partitions, cloned row triggers must fire even in replica mode (ENABLE ALWAYS), and
-- the default partition must refuse rows (they could never leave an append-only table).
-- Runs as its caller, who must own the partitions (pyevents_owner, or a superuser).
CREATE OR REPLACE FUNCTION pyevents.sync_partitions()
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_partition record;
    v_trigger record;
    v_bounds text[];
    v_count integer := 0;
BEGIN
    -- ALTER TABLE below fires the DDL event trigger again; this flag stops the recursion.
    PERFORM set_config('pyevents.syncing_partitions', 'on', true);
    DELETE FROM pyevents.partitions p
    WHERE NOT EXISTS (
        SELECT 1 FROM pg_inherits i
        WHERE i.inhrelid = p.partition AND i.inhparent = 'pyevents.events'::regclass
    );
    FOR v_partition IN
        SELECT c.oid::regclass AS relid, pg_get_expr(c.relpartbound, c.oid) AS bound
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'pyevents.events'::regclass
    LOOP
        IF v_partition.bound <> 'DEFAULT' THEN
            v_bounds := regexp_match(v_partition.bound, $re$FROM \('([^']+)'\) TO \('([^']+)'\)$re$);
            INSERT INTO pyevents.partitions (range_start, range_end, partition)
            VALUES (v_bounds[1]::timestamptz, v_bounds[2]::timestamptz, v_partition.relid)
            ON CONFLICT (range_start) DO UPDATE
                SET range_end = EXCLUDED.range_end, partition = EXCLUDED.partition;
            v_count := v_count + 1;
        END IF;
        IF NOT EXISTS (
            SELECT 1 FROM pg_trigger
            WHERE tgrelid = v_partition.relid AND tgname = 'events_forbid_truncate'
        ) THEN
            EXECUTE format(
                'CREATE TRIGGER events_forbid_truncate BEFORE TRUNCATE ON %s '
                'FOR EACH STATEMENT EXECUTE FUNCTION pyevents.forbid_change()',
                v_partition.relid
            );
        END IF;
        -- Privileges are not inherited from the parent: refuse rewrites here too.
        EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', v_partition.relid);
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %s FROM pyevents_owner', v_partition.relid);
        IF v_partition.bound = 'DEFAULT' AND NOT EXISTS (
            SELECT 1 FROM pg_trigger
            WHERE tgrelid = v_partition.relid AND tgname = 'events_forbid_default_insert'
        ) THEN
            EXECUTE format(
                'CREATE TRIGGER events_forbid_default_insert BEFORE INSERT ON %s '
                'FOR EACH ROW EXECUTE FUNCTION pyevents.forbid_default_insert()',
                v_partition.relid
            );
        END IF;
        FOR v_trigger IN
            SELECT tgname FROM pg_trigger
            WHERE tgrelid = v_partition.relid AND tgname LIKE 'events\_forbid\_%' AND tgenabled <> 'A'
        LOOP
            EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', v_partition.relid, v_trigger.tgname);
        END LOOP;
    END LOOP;
    PERFORM set_config('pyevents.syncing_partitions', 'off', true);
    RETURN v_count;
END
$$;
