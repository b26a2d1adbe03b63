-- Sealing appends seals as appending appends events: the writer's right (pg_cron's job runs
-- as a writer), and a writer exports them. The auditor checks them, proves events and checks
-- exported seals. Like every table, the seals are read through functions only, and nobody,
-- the owner included, may rewrite them.
REVOKE UPDATE, DELETE, TRUNCATE ON pyevents.seals FROM pyevents_owner;
GRANT EXECUTE ON FUNCTION pyevents.seal_events(integer), pyevents.seal_history() TO pyevents_writer;
GRANT EXECUTE ON PROCEDURE pyevents.seal_maintenance(integer) TO pyevents_writer;
-- The Merkle helpers are pure functions: with them an auditor recomputes a root in psql.
GRANT EXECUTE ON FUNCTION
    pyevents.seal_history(),
    pyevents.verify_seals(),
    pyevents.sealed_leaves(bigint),
    pyevents.merkle_append(bytea[], bigint, bytea),
    pyevents.merkle_root(bytea[])
TO pyevents_auditor;
