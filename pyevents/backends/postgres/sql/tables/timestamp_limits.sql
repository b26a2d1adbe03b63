-- Description of the timestamp limits table.
COMMENT ON TABLE pyevents.timestamp_limits IS
    'One row: the earliest event timestamp appends accept. A DBA may UPDATE it to admit older back-dated events.';
