-- Description of the subscription checkpoints table.
COMMENT ON TABLE pyevents.subscriptions IS
    'Checkpoints of named subscriptions: the last position each consumer processed (save_checkpoint, get_checkpoint).';
