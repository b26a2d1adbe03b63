-- Nothing is reachable by default, and nobody, the owner included, holds the right to rewrite
-- history (the triggers refuse it anyway, for superusers too).
REVOKE ALL ON ALL TABLES IN SCHEMA pyevents FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA pyevents FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA pyevents FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON pyevents.events, pyevents.event_ids, pyevents.event_tags FROM pyevents_owner;
