-- Nothing is reachable by default, and nobody, the owner included, holds the right to rewrite
-- history (the triggers refuse it anyway, for superusers too). The owner keeps DELETE on the
-- event tables for retention alone (privileges/retention_owner.sql).
REVOKE ALL ON ALL TABLES IN SCHEMA pyevents FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA pyevents FROM PUBLIC;
REVOKE ALL ON ALL ROUTINES IN SCHEMA pyevents FROM PUBLIC;  -- procedures too
REVOKE UPDATE, TRUNCATE ON pyevents.events, pyevents.event_ids, pyevents.event_tags FROM pyevents_owner;
