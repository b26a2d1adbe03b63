-- Description of the DCB gate table.
COMMENT ON TABLE pyevents.dcb_gate IS
    'Always empty: its lock modes let large batches (ROW EXCLUSIVE) and conditional appends (SHARE) exclude each other. Never read or written.';
