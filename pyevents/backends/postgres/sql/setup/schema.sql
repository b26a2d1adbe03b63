-- The schema that holds every pyevents object (and yoyo's bookkeeping tables).
CREATE SCHEMA IF NOT EXISTS pyevents AUTHORIZATION pyevents_owner;
REVOKE ALL ON SCHEMA pyevents FROM PUBLIC;
COMMENT ON SCHEMA pyevents IS
    'pyevents event store: the append-only log, its functions and views. Applications use the roles pyevents_reader, pyevents_writer, pyevents_consumer, pyevents_auditor.';
