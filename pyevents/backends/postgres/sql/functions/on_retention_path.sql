-- Whether the running statement is on retention's path: pyevents.apply_retention removing
-- events. Two things together say so. current_user is pyevents_owner, which a session cannot
-- become: the owner has no members (but a managed service's installer), so it is current_user
-- only inside the owner's SECURITY DEFINER functions. And of those, apply_retention alone sets
-- the transaction-local pyevents.applying_retention just before it removes and clears it
-- right after; the others never remove anything. Any session may set that marker itself, but
-- not current_user. Every guard against removing events asks this one function.
CREATE OR REPLACE FUNCTION pyevents.on_retention_path()
RETURNS boolean
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT current_user = 'pyevents_owner'
       AND coalesce(current_setting('pyevents.applying_retention', true), '') = 'on'
$$;
COMMENT ON FUNCTION pyevents.on_retention_path() IS
    'Internal: true only inside apply_retention (current_user is the memberless owner, and its marker is set); the append-only guards let rows go only then.';
