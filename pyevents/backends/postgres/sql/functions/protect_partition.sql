-- Protects one partition of pyevents.events, whoever made it: owned by pyevents_owner,
-- TRUNCATE trigger (not cloned from the parent), cloned row triggers ENABLE ALWAYS, no
-- UPDATE/DELETE/TRUNCATE rights, and the default partition refusing rows. Changes only what is
-- missing, so re-running it takes no table lock. Runs as its caller: one who may not alter the
-- partition (not its owner, not a superuser) is warned instead, and SELECT
-- pyevents.sync_partitions() as a superuser finishes the work.
CREATE OR REPLACE FUNCTION pyevents.protect_partition(p_partition regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_owner oid;
    v_acl aclitem[];
    v_default boolean;
    v_trigger record;
BEGIN
    SELECT c.relowner, c.relacl, pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'
    INTO v_owner, v_acl, v_default
    FROM pg_class AS c
    WHERE c.oid = p_partition;
    IF v_owner = 'pyevents_owner'::regrole
       AND EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = p_partition AND tgname = 'events_forbid_truncate')
       AND (NOT v_default
            OR EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = p_partition AND tgname = 'events_forbid_default_insert'))
       AND NOT EXISTS (
           SELECT 1 FROM pg_trigger
           WHERE tgrelid = p_partition AND tgname LIKE 'events\_forbid\_%' AND tgenabled <> 'A'
       )
       AND NOT EXISTS (
           -- Privileges are not inherited from the parent: nobody may rewrite here either.
           SELECT 1 FROM aclexplode(coalesce(v_acl, acldefault('r', v_owner))) AS a
           WHERE a.grantee = 0 OR a.privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE')
       ) THEN
        RETURN;
    END IF;
    IF NOT pg_has_role(v_owner, 'USAGE') THEN
        RAISE WARNING 'pyevents: partition % belongs to %, so it is not protected yet; run SELECT pyevents.sync_partitions() as a superuser',
            p_partition, pg_get_userbyid(v_owner);
        RETURN;
    END IF;
    IF v_owner <> 'pyevents_owner'::regrole THEN
        EXECUTE format('ALTER TABLE %s OWNER TO pyevents_owner', p_partition);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = p_partition AND tgname = 'events_forbid_truncate') THEN
        EXECUTE format(
            'CREATE TRIGGER events_forbid_truncate BEFORE TRUNCATE ON %s '
            'FOR EACH STATEMENT EXECUTE FUNCTION pyevents.forbid_change()',
            p_partition
        );
    END IF;
    IF v_default
       AND NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = p_partition AND tgname = 'events_forbid_default_insert') THEN
        EXECUTE format(
            'CREATE TRIGGER events_forbid_default_insert BEFORE INSERT ON %s '
            'FOR EACH ROW EXECUTE FUNCTION pyevents.forbid_default_insert()',
            p_partition
        );
    END IF;
    FOR v_trigger IN
        SELECT tgname FROM pg_trigger
        WHERE tgrelid = p_partition AND tgname LIKE 'events\_forbid\_%' AND tgenabled <> 'A'
    LOOP
        EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', p_partition, v_trigger.tgname);
    END LOOP;
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', p_partition);
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %s FROM pyevents_owner', p_partition);
END
$$;
COMMENT ON FUNCTION pyevents.protect_partition(regclass) IS
    'Makes one partition append-only (owner pyevents_owner, forbid triggers, no UPDATE/DELETE/TRUNCATE rights); runs as its caller, who must own the partition.';
