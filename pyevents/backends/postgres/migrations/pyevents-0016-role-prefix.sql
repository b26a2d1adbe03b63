-- depends: pyevents-0015-appended-by-and-redaction
-- What a store keeps from its install: the prefix of its role names ([postgresql] role_prefix;
-- <prefix>owner, <prefix>writer, ...). Roles are cluster-wide, so stores in other databases of
-- the cluster may name theirs differently; installing or upgrading with another prefix is
-- refused (setup/role_prefix.sql). One row; stores made before it used the default names.

CREATE TABLE IF NOT EXISTS pyevents.store_settings (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    role_prefix  text    NOT NULL
);

-- The owner's name as installed, less 'owner': the SQL names the default roles, which
-- installing under another prefix renames.
INSERT INTO pyevents.store_settings (role_prefix) VALUES (left('pyevents_owner', -length('owner'))) ON CONFLICT DO NOTHING;
