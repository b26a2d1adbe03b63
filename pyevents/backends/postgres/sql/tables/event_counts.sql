-- Description of the kept event counts table.
COMMENT ON TABLE pyevents.event_counts IS
    'Events counted per partition and type up to event_counts_mark, so monitoring reads only newer events. Kept by event_counts_by_type().';
