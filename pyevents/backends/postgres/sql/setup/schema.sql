-- The schema that holds every pyevents object (and yoyo's bookkeeping tables).
CREATE SCHEMA IF NOT EXISTS pyevents AUTHORIZATION pyevents_owner;
REVOKE ALL ON SCHEMA pyevents FROM PUBLIC;
