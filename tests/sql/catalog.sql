-- pgTAP: the catalog of schema pyevents (tables, functions, triggers, grants), and that the
-- triggers refuse rewrites. Run with pg_prove in a database where pyevents and pgtap are installed.
BEGIN;
SELECT plan(47);

SELECT has_schema('pyevents');
SELECT has_table('pyevents', 'events', 'the event log exists');
SELECT is_partitioned('pyevents', 'events', 'the event log is partitioned');
SELECT has_table('pyevents', 'event_ids', 'event_id uniqueness table exists');
SELECT has_table('pyevents', 'event_tags', 'tag table exists');
SELECT has_table('pyevents', 'partitions', 'partition registry exists');
SELECT has_sequence('pyevents', 'events_position_seq', 'position sequence exists');
SELECT col_is_pk('pyevents', 'event_ids', 'event_id', 'event_id is globally unique');
SELECT col_is_pk('pyevents', 'events', ARRAY['position', 'timestamp'], 'primary key includes the partition key');
SELECT col_type_is('pyevents', 'events', 'transaction_id', 'xid8', 'transaction id is xid8');
SELECT has_index('pyevents', 'events', 'events_event_type_idx', ARRAY['event_type', '"position"']);
SELECT has_index('pyevents', 'events', 'events_correlation_idx', ARRAY['correlation_id', '"position"']);
SELECT has_index('pyevents', 'events', 'events_actor_idx', ARRAY['actor_id', '"position"']);
SELECT has_index('pyevents', 'events', 'events_timestamp_idx', ARRAY['"timestamp"', '"position"']);

SELECT has_function('pyevents', 'append_events',
    ARRAY['uuid[]', 'timestamp with time zone[]', 'text[]', 'text[]', 'text[]', 'uuid[]', 'uuid[]', 'text[]',
          'jsonb[]', 'jsonb[]', 'jsonb', 'bigint']);
SELECT is_definer('pyevents', 'append_events', 'append_events runs as the owner');
SELECT has_function('pyevents', 'append_event', 'append_event exists');
SELECT has_function('pyevents', 'get_events', 'get_events exists');
SELECT has_function('pyevents', 'get_event', ARRAY['uuid']);
SELECT has_function('pyevents', 'get_events_by_correlation', ARRAY['uuid']);
SELECT has_function('pyevents', 'read_events', ARRAY['jsonb', 'bigint', 'integer']);
SELECT has_function('pyevents', 'schema_version', '{}'::text[]);
SELECT has_function('pyevents', 'ensure_partitions', ARRAY['integer']);
SELECT has_function('pyevents', 'verify', '{}'::text[]);
SELECT function_owner_is('pyevents', 'append_events',
    ARRAY['uuid[]', 'timestamp with time zone[]', 'text[]', 'text[]', 'text[]', 'uuid[]', 'uuid[]', 'text[]',
          'jsonb[]', 'jsonb[]', 'jsonb', 'bigint'], 'pyevents_owner');

SELECT trigger_is('pyevents', 'events', 'events_forbid_change', 'pyevents', 'forbid_change');
SELECT trigger_is('pyevents', 'events', 'events_forbid_truncate', 'pyevents', 'forbid_change');
SELECT trigger_is('pyevents', 'event_ids', 'event_ids_forbid_change', 'pyevents', 'forbid_change');
SELECT trigger_is('pyevents', 'event_tags', 'event_tags_forbid_truncate', 'pyevents', 'forbid_change');
SELECT trigger_is('pyevents', 'events_default', 'events_forbid_default_insert', 'pyevents', 'forbid_default_insert');
SELECT is(
    (SELECT count(*)::integer FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     WHERE c.relnamespace = 'pyevents'::regnamespace AND t.tgname LIKE '%forbid%' AND t.tgenabled <> 'A'),
    0, 'every pyevents trigger is ENABLE ALWAYS');
SELECT is(
    (SELECT count(*)::integer FROM pg_inherits i
     WHERE i.inhparent = 'pyevents.events'::regclass
       AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = i.inhrelid AND t.tgname = 'events_forbid_truncate')),
    0, 'every partition has its TRUNCATE trigger');

SELECT has_role('pyevents_owner');
SELECT has_role('pyevents_writer');
SELECT has_role('pyevents_reader');
SELECT table_privs_are('pyevents', 'events', 'public', '{}'::text[], 'PUBLIC has no access to the log');
SELECT table_privs_are('pyevents', 'events', 'pyevents_writer', '{}'::text[], 'writers only execute functions');
SELECT table_privs_are('pyevents', 'events', 'pyevents_owner', ARRAY['INSERT', 'SELECT', 'DELETE', 'REFERENCES', 'TRIGGER'],
    'not even the owner may UPDATE or TRUNCATE; its DELETE is retention''s, refused by the triggers elsewhere');
SELECT function_owner_is('pyevents', 'apply_retention', ARRAY['jsonb', 'boolean'], 'pyevents_owner',
    'retention runs as the owner, whom nobody can become');
SELECT function_privs_are('pyevents', 'apply_retention', ARRAY['jsonb', 'boolean'], 'pyevents_retention', ARRAY['EXECUTE']);
SELECT is(
    (SELECT count(*)::integer FROM pg_auth_members WHERE roleid = 'pyevents_owner'::regrole),
    0, 'the owner has no members');
SELECT function_privs_are('pyevents', 'append_events',
    ARRAY['uuid[]', 'timestamp with time zone[]', 'text[]', 'text[]', 'text[]', 'uuid[]', 'uuid[]', 'text[]',
          'jsonb[]', 'jsonb[]', 'jsonb', 'bigint'], 'pyevents_writer', ARRAY['EXECUTE']);
SELECT function_privs_are('pyevents', 'append_events',
    ARRAY['uuid[]', 'timestamp with time zone[]', 'text[]', 'text[]', 'text[]', 'uuid[]', 'uuid[]', 'text[]',
          'jsonb[]', 'jsonb[]', 'jsonb', 'bigint'], 'pyevents_reader', '{}'::text[]);
SELECT function_privs_are('pyevents', 'get_event', ARRAY['uuid'], 'pyevents_reader', ARRAY['EXECUTE']);

SELECT lives_ok(
    $$SELECT pyevents.append_event(gen_random_uuid(), now(), 'Tap', 'test', 'pgtap', gen_random_uuid(), NULL,
                                   '1.0', '{}', '{"tags": ["tap"]}')$$,
    'append through the function works');
SELECT throws_ok('UPDATE pyevents.events SET actor_id = actor_id', 'PE004', NULL, 'UPDATE is refused');
SELECT throws_ok('TRUNCATE pyevents.events', 'PE004', NULL, 'TRUNCATE is refused');

SELECT * FROM finish();
ROLLBACK;
