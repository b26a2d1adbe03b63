-- Snapshots: applications that append save them, readers load them.
GRANT EXECUTE ON FUNCTION pyevents.create_snapshot(uuid, jsonb, bigint) TO pyevents_writer;
GRANT EXECUTE ON FUNCTION pyevents.get_snapshot(uuid) TO pyevents_reader, pyevents_writer;
