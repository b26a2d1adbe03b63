-- Description of the sealing mark.
COMMENT ON TABLE pyevents.seal_mark IS
    'One row: the positions the next seal may cover beyond the gap-free run, once the transactions that could still commit below them have ended. Kept by seal_events().';
