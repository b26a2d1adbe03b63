-- Description of the sequence that draws event positions.
COMMENT ON SEQUENCE pyevents.events_position_seq IS
    'Draws the global position of every appended event; rolled-back appends leave gaps. Used only by append_events.';
