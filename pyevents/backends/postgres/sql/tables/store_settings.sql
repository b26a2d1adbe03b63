-- Description of the store settings table.
COMMENT ON TABLE pyevents.store_settings IS
    'Fixed when the store was installed: role_prefix, the prefix of its role names (role_prefix || ''owner'', ...).';
