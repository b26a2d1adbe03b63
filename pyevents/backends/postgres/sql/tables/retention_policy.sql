-- Description of the stored retention policy table.
COMMENT ON TABLE pyevents.retention_policy IS
    'The retention policy last applied (compiled JSON), which retention_maintenance() applies again on schedule. Written by apply_retention.';
