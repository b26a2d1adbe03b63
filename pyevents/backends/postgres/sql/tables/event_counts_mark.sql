-- Description of the mark of the kept event counts.
COMMENT ON TABLE pyevents.event_counts_mark IS
    'One row: the position up to which event_counts is final, and the next step waiting to become final. Kept by event_counts_by_type().';
