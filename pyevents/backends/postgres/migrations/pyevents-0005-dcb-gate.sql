-- depends: pyevents-0001-events
-- An empty table whose lock modes arbitrate between large batches and conditional appends
-- (see append_events): ROW EXCLUSIVE is shared by batches, SHARE by conditional appends, and
-- the two conflict. Advisory locks only know shared and exclusive.

CREATE TABLE IF NOT EXISTS pyevents.dcb_gate ();
