-- pyevents_consumer: keeps subscriptions' checkpoints. A checkpoint decides which events a
-- consumer skips, so moving one is not a reader's right; grant this role with pyevents_reader
-- to the logins of consumers (live streams with a subscription name).
GRANT USAGE ON SCHEMA pyevents TO pyevents_consumer;
GRANT EXECUTE ON FUNCTION
    pyevents.get_checkpoint(text),
    pyevents.save_checkpoint(text, bigint)
TO pyevents_consumer;
