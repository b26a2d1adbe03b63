-- Applies a retention policy in one transaction and records the run; the only code that
-- removes events. p_policy is a policy compiled by pyevents.retention (RetentionPolicy.to_json);
-- NULL applies the policy stored by the last run (pg_cron's route; none stored: infinite).
--  * Whole partitions whose every event goes are dropped (through pg_partman's
--    drop_partition_time for the oldest ones when pg_partman manages the log), other removals
--    delete rows; event_ids, event_tags and event_checksums lose the same events.
--  * Every run that is not a dry run appends pyevents.retention.applied (policy, cutoff, counts
--    per type and per partition, removed position ranges) in this same transaction.
--  * p_dry_run: the plan only; nothing changes, nothing is recorded.
-- Owned by pyevents_owner, SECURITY DEFINER: current_user is then the owner, a role nobody can
-- become (it has no members), and while it removes events it marks the transaction
-- (pyevents.applying_retention); the two together are retention's path
-- (functions/on_retention_path.sql), the only one the append-only guards let remove events.
-- Only pyevents_retention may execute it, and does not own it: each member of a role that owns
-- a SECURITY DEFINER function can SET ROLE to that role and remove events directly.
-- Returns the report as JSON (see RetentionReport.to_json).
CREATE OR REPLACE FUNCTION pyevents.apply_retention(p_policy jsonb DEFAULT NULL, p_dry_run boolean DEFAULT false)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_started constant timestamptz := now();
    v_policy jsonb := p_policy;
    v_kind text;
    v_holds jsonb;
    v_rules jsonb;
    v_cutoff timestamptz;
    v_retain bigint;
    v_partman text;
    v_unit record;
    v_units jsonb := '[]';
    v_total bigint;
    v_whole boolean;
    v_prefix boolean := true;
    v_prefix_end timestamptz;
    v_drops regclass[] := '{}';
    v_report jsonb;
    v_position bigint;
    v_partman_dropped integer := 0;
BEGIN
    -- One run at a time; appends go on beside it until the drops (ACCESS EXCLUSIVE) at the end.
    PERFORM pg_advisory_xact_lock(pyevents.lock_key('retention'));
    IF v_policy IS NULL THEN
        SELECT r.policy INTO v_policy FROM pyevents.retention_policy AS r;
        v_policy := coalesce(v_policy, '{"default_policy": "infinite", "rules": []}');
    END IF;
    v_kind := v_policy ->> 'default_policy';
    IF v_kind IS NULL OR v_kind NOT IN ('infinite', 'time', 'count', 'custom')
       OR jsonb_typeof(coalesce(v_policy -> 'rules', '[]')) <> 'array' THEN
        PERFORM pyevents.raise_error('PE001', format('not a compiled retention policy: %s', v_policy),
            'Compile it with pyevents.retention.RetentionPolicy.to_json().');
    END IF;
    IF v_kind = 'time' THEN
        v_retain := (v_policy ->> 'retain_days')::bigint;
        IF v_retain IS NULL OR v_retain < 1 THEN
            PERFORM pyevents.raise_error('PE001', 'a time policy needs retain_days of at least 1');
        END IF;
        v_cutoff := v_started - make_interval(days => v_retain::integer);
    ELSIF v_kind = 'count' THEN
        v_retain := (v_policy ->> 'retain_events')::bigint;
        IF v_retain IS NULL OR v_retain < 1 THEN
            PERFORM pyevents.raise_error('PE001', 'a count policy needs retain_events of at least 1');
        END IF;
    END IF;
    SELECT coalesce(jsonb_agg(r.rule) FILTER (WHERE (r.rule ->> 'keep')::boolean), '[]'),
           coalesce(jsonb_agg(r.rule ORDER BY (r.rule ->> 'rule')::integer) FILTER (WHERE NOT (r.rule ->> 'keep')::boolean), '[]')
    INTO v_holds, v_rules
    FROM jsonb_array_elements(coalesce(v_policy -> 'rules', '[]')) AS r(rule);

    -- 1. What goes.
    DROP TABLE IF EXISTS pg_temp.retention_doomed;
    CREATE TEMP TABLE retention_doomed (
        position    bigint      NOT NULL,
        timestamp   timestamptz NOT NULL,
        event_id    uuid        NOT NULL,
        event_type  text        NOT NULL,
        tags        jsonb,
        partition   oid         NOT NULL
    ) ON COMMIT DROP;
    IF v_kind = 'time' THEN
        INSERT INTO pg_temp.retention_doomed
        SELECT e.position, e.timestamp, e.event_id, e.event_type, e.metadata -> 'tags', e.tableoid
        FROM pyevents.events AS e
        WHERE e.timestamp < v_cutoff
          AND NOT pyevents.retention_held(v_holds, e.event_type, e.actor_type, e.metadata -> 'tags');
    ELSIF v_kind = 'count' THEN
        INSERT INTO pg_temp.retention_doomed
        SELECT e.position, e.timestamp, e.event_id, e.event_type, e.metadata -> 'tags', e.tableoid
        FROM pyevents.events AS e
        WHERE NOT pyevents.retention_held(v_holds, e.event_type, e.actor_type, e.metadata -> 'tags')
        ORDER BY e.position DESC
        OFFSET v_retain;
    ELSIF v_kind = 'custom' AND v_rules <> '[]'::jsonb THEN
        -- The first rule in order that matches decides; retain_events keeps the newest N of
        -- the events each rule decides.
        INSERT INTO pg_temp.retention_doomed
        SELECT d.position, d.timestamp, d.event_id, d.event_type, d.tags, d.partition
        FROM (
            SELECT e.position, e.timestamp, e.event_id, e.event_type, e.metadata -> 'tags' AS tags,
                   e.tableoid AS partition, r.days, r.newest,
                   row_number() OVER (PARTITION BY r.rule ORDER BY e.position DESC) AS rank
            FROM pyevents.events AS e
            CROSS JOIN LATERAL (
                SELECT (x.rule ->> 'rule')::integer AS rule,
                       (x.rule ->> 'retain_days')::integer AS days,
                       (x.rule ->> 'retain_events')::bigint AS newest
                FROM jsonb_array_elements(v_rules) WITH ORDINALITY AS x(rule, ord)
                WHERE pyevents.retention_matches(x.rule, e.event_type, e.actor_type, e.metadata -> 'tags')
                ORDER BY x.ord
                LIMIT 1
            ) AS r
            WHERE NOT pyevents.retention_held(v_holds, e.event_type, e.actor_type, e.metadata -> 'tags')
        ) AS d
        WHERE d.timestamp < v_started - make_interval(days => d.days) OR d.rank > d.newest;
    END IF;

    -- 2. The plan: per partition, oldest first; whole ones are dropped.
    v_partman := pyevents.partman_schema();
    FOR v_unit IN
        SELECT d.partition::regclass AS relid, count(*) AS events, min(d.timestamp) AS oldest,
               max(d.timestamp) AS newest, p.range_start, p.range_end,
               (SELECT jsonb_object_agg(t.event_type, t.n ORDER BY t.event_type)
                FROM (SELECT x.event_type, count(*) AS n FROM pg_temp.retention_doomed AS x
                      WHERE x.partition = d.partition GROUP BY x.event_type) AS t) AS by_type
        FROM pg_temp.retention_doomed AS d
        LEFT JOIN pyevents.partitions AS p ON p.partition = d.partition
        GROUP BY d.partition, p.range_start, p.range_end
        ORDER BY p.range_start
    LOOP
        EXECUTE format('SELECT count(*) FROM %s', v_unit.relid) INTO v_total;
        v_whole := v_unit.range_start IS NOT NULL AND v_total = v_unit.events;
        IF v_whole THEN
            v_drops := v_drops || v_unit.relid;
        END IF;
        -- pg_partman drops its oldest partitions in order: the run of whole ones from the start.
        v_prefix := v_prefix AND v_whole
            AND NOT EXISTS (SELECT 1 FROM pyevents.partitions AS p
                            WHERE p.range_start < v_unit.range_start AND p.partition <> ALL (v_drops));
        IF v_prefix THEN
            v_prefix_end := v_unit.range_end;
        END IF;
        v_units := v_units || jsonb_build_object(
            'name', v_unit.relid::text, 'action', CASE WHEN v_whole THEN 'drop' ELSE 'delete' END,
            'events', v_unit.events, 'oldest', v_unit.oldest, 'newest', v_unit.newest, 'by_type', v_unit.by_type);
    END LOOP;
    v_report := jsonb_build_object(
        'policy', v_policy,
        'started_at', v_started,
        'cutoff', v_cutoff,
        'dry_run', p_dry_run,
        'removed', (SELECT count(*) FROM pg_temp.retention_doomed),
        'removed_by_type', coalesce((
            SELECT jsonb_object_agg(t.event_type, t.n ORDER BY t.event_type)
            FROM (SELECT event_type, count(*) AS n FROM pg_temp.retention_doomed GROUP BY event_type) AS t
        ), '{}'),
        'deferred', 0,
        'dropped_by_partman', 0,
        'units', v_units,
        -- Runs of consecutive removed positions, so that a stream resuming past them can say
        -- how many positions went (at most 1000 runs are listed).
        'removed_ranges', coalesce((
            SELECT jsonb_agg(jsonb_build_array(g.first, g.last, g.n) ORDER BY g.first)
            FROM (
                SELECT min(s.position) AS first, max(s.position) AS last, count(*) AS n
                FROM (SELECT position, position - row_number() OVER (ORDER BY position) AS run
                      FROM pg_temp.retention_doomed) AS s
                GROUP BY s.run
                ORDER BY 1
                LIMIT 1000
            ) AS g
        ), '[]')
    );
    IF p_dry_run THEN
        RETURN v_report;
    END IF;

    -- 3. Remove: the side tables first, then rows of partial partitions, then whole partitions
    --    (their ACCESS EXCLUSIVE lock on the log holds appends back until commit: keep it last).
    --    Only between setting and clearing the marker is this retention's path.
    PERFORM set_config('pyevents.applying_retention', 'on', true);
    DELETE FROM pyevents.event_tags AS t
    USING (SELECT d.position, x.tag FROM pg_temp.retention_doomed AS d,
           jsonb_array_elements_text(coalesce(d.tags, '[]')) AS x(tag)) AS g
    WHERE t.tag = g.tag AND t.position = g.position;
    DELETE FROM pyevents.event_ids AS i USING pg_temp.retention_doomed AS d WHERE i.event_id = d.event_id;
    DELETE FROM pyevents.event_checksums AS c USING pg_temp.retention_doomed AS d WHERE c.position = d.position;
    DELETE FROM pyevents.events AS e
    USING pg_temp.retention_doomed AS d
    WHERE e.position = d.position AND e.timestamp = d.timestamp AND d.partition::regclass <> ALL (v_drops);
    IF cardinality(v_drops) > 0 THEN
        -- Dropping needs ACCESS EXCLUSIVE on the log, and appends queue behind a lock request:
        -- wait for running statements at most a few seconds, then give up (nothing is removed).
        PERFORM set_config('lock_timeout', '2s', true);
        BEGIN
            LOCK TABLE pyevents.events IN ACCESS EXCLUSIVE MODE;
        EXCEPTION WHEN lock_not_available THEN
            PERFORM pyevents.raise_error('55P03',
                'retention could not lock pyevents.events within 2 seconds to drop partitions; nothing was removed',
                'A long statement or transaction reads the log; run retention again later.');
        END;
    END IF;
    IF v_partman IS NOT NULL AND v_prefix_end IS NOT NULL THEN
        -- drop_partition_time drops partitions ending before reference - retention
        EXECUTE format(
            'SELECT %I.drop_partition_time(p_parent_table := %L, p_retention := %L::interval, '
            'p_keep_table := false, p_reference_timestamp := %L::timestamptz)',
            v_partman, 'pyevents.events', '1 microsecond', v_prefix_end + interval '2 microseconds'
        ) INTO v_partman_dropped;
        v_report := v_report || jsonb_build_object('dropped_by_partman', v_partman_dropped);
    END IF;
    FOR v_unit IN SELECT d.relid FROM unnest(v_drops) AS d(relid) LOOP
        IF to_regclass(v_unit.relid::text) IS NOT NULL THEN
            EXECUTE format('DROP TABLE %s', v_unit.relid);
        END IF;
    END LOOP;
    PERFORM pyevents.sync_partitions();
    PERFORM set_config('pyevents.applying_retention', '', true);

    -- 4. The record of the run, in the same transaction.
    v_position := (pyevents.append_events(
        ARRAY[gen_random_uuid()], ARRAY[v_started], ARRAY['pyevents.retention.applied'], ARRAY['system'],
        ARRAY['pyevents-retention'], ARRAY[gen_random_uuid()], ARRAY[NULL::uuid], ARRAY['1.0'],
        ARRAY[v_report - 'dry_run'], ARRAY['{}'::jsonb]
    ))[1];
    IF p_policy IS NOT NULL THEN
        INSERT INTO pyevents.retention_policy (policy) VALUES (p_policy)
        ON CONFLICT (singleton) DO UPDATE SET policy = EXCLUDED.policy, updated_at = now();
    END IF;
    RETURN v_report || jsonb_build_object('applied_position', v_position);
END
$$;
COMMENT ON FUNCTION pyevents.apply_retention(jsonb, boolean) IS
    'Applies a retention policy (NULL: the stored one; or only plans it, dry run) and records the run; the only code that removes events. Only pyevents_retention may call it.';
