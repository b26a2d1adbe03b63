-- Description of the snapshots table.
COMMENT ON TABLE pyevents.snapshots IS
    'The newest snapshot per correlation: derived state and the log position it reflects. Not events; replaced by create_snapshot.';
