"""The server's audit trail of calls to the store, through pgAudit and the server log
(docs/access-audit.md): the settings for the server and the statements for the store's database.

The log is written outside any transaction, so an attempt that fails, and takes its
transaction down with it, is still recorded; a row written into the database would not be."""

from __future__ import annotations

# Never granted to anyone: pgAudit logs a statement on the event log when this role holds the
# privilege the statement uses (pgAudit's object audit), so it holds them only as markers.
AUDIT_ROLE = "pyevents_audit_log"

# Every database of the server: grants, role changes and DDL (pgAudit); every statement that
# fails, with its SQLSTATE, and who ran it from where (the server log itself).
SERVER_SETTINGS: tuple[tuple[str, str, str], ...] = (
    ("shared_preload_libraries", "'pgaudit'", "keep the libraries already listed, e.g. 'pg_cron, pgaudit'"),
    ("pgaudit.log", "'role, ddl'", "grants, role changes and DDL in every database"),
    ("pgaudit.role", f"'{AUDIT_ROLE}'", "object audit: statements naming pyevents.events"),
    ("pgaudit.log_parameter", "off", "bound values, event payloads among them, stay out of the log"),
    ("log_min_error_statement", "error", "a refused statement is logged with its text"),
    ("log_line_prefix", "'%m [%p] %q%u@%d %r %e '", "when, process, user, database, client, SQLSTATE"),
    ("log_connections", "on", "who connected, from where"),
    ("logging_collector", "on", "needed for jsonlog"),
    ("log_destination", "'stderr,jsonlog'", "jsonlog: one JSON object per line, for tools"),
)

# The store's database adds function calls: every call of a pyevents function, by anyone.
DATABASE_AUDIT_CLASSES = "role, ddl, function"


def audit_server_conf() -> str:
    """postgresql.conf lines (or a file in Debian's conf.d/); the server must restart after them."""
    lines = ["# pyevents access audit (docs/access-audit.md); restart the server after adding these"]
    lines += [f"{name} = {value}  # {why}" for name, value, why in SERVER_SETTINGS]
    return "\n".join(lines) + "\n"


def audit_database_sql(database: str) -> str:
    """The statements a superuser runs in the store's database once the server has restarted with
    pgAudit preloaded."""
    quoted = '"' + database.replace('"', '""') + '"'
    return f"""-- pyevents access audit (docs/access-audit.md): run as a superuser in database {quoted}
CREATE EXTENSION IF NOT EXISTS pgaudit;
DO $audit_role$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = '{AUDIT_ROLE}') THEN
        CREATE ROLE {AUDIT_ROLE} NOLOGIN;
    END IF;
END
$audit_role$;
GRANT SELECT, INSERT, UPDATE, DELETE ON pyevents.events TO {AUDIT_ROLE};
ALTER DATABASE {quoted} SET pgaudit.log = '{DATABASE_AUDIT_CLASSES}';
"""
