-- depends: pyevents-0014-event-checksums
-- Who appended each event: the database login (session_user) of the appending session, which
-- the append functions set and no caller can give. NULL for events appended before it was
-- recorded: history is not rewritten. Nullable without a default, so adding it to the
-- partitioned log changes only the catalog, not a row.

ALTER TABLE pyevents.events ADD COLUMN IF NOT EXISTS appended_by text;

-- Paths of payload and metadata whose values the auditor's views and functions mask (and the
-- Python client with --redact). Managed by the owner: pyevents db redact sync, or INSERT and
-- DELETE as the owner. Tags are the store's index and cannot be masked.
CREATE TABLE IF NOT EXISTS pyevents.redacted_paths (
    path      text        PRIMARY KEY
              CHECK (path ~ '^(payload|metadata)(\.[A-Za-z0-9_-]+)+$' AND path !~ '^metadata\.tags(\.|$)'),
    added_at  timestamptz NOT NULL DEFAULT now(),
    added_by  text        NOT NULL DEFAULT session_user
);
