-- Description of the redacted paths table.
COMMENT ON TABLE pyevents.redacted_paths IS
    'Paths of payload and metadata (payload.user.email) masked in the audit views and functions; managed by the owner.';
