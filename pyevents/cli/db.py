"""`pyevents db`: install, upgrade and inspect the PostgreSQL schema, or print it as one script."""

from __future__ import annotations

from pathlib import Path

import click

from pyevents.cli import output
from pyevents.cli.options import CliError, dsn_option, format_option, load_config
from pyevents.config import mask_dsn
from pyevents.errors import ConfigError


@click.group()
def db() -> None:
    """Install, upgrade and inspect the PostgreSQL schema `pyevents`.

    The DSN comes from --dsn, else from the configuration's [postgresql] section.
    """


def _warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


def _missing_protection(missing: list[str]) -> None:
    for text in missing:
        _warn(f"protection missing: {text}")


def _target(dsn: str | None) -> tuple[str, str]:
    """The connection string for `db` commands (`--dsn`, else the configuration's
    `[postgresql]`) and the configured role prefix."""
    from pyevents.backends.postgres import schema

    config = load_config(dsn)
    prefix = schema.role_prefix(config)
    try:
        return schema.connection_string(config), prefix
    except ConfigError as exc:
        raise ConfigError(f"{exc} (or pass --dsn)") from None


@db.command()
@format_option("table", "json")
@dsn_option
def upgrade(output_format: str, dsn: str | None) -> None:
    """Install the schema, or upgrade it to this version of pyevents.

    Applies pending migrations and re-applies functions, triggers and privileges; running it
    again changes nothing, and it is safe while the store is in use. Run it as a superuser, or
    as a managed service's master user (CREATEROLE, and CREATE on the database): then the event
    triggers are missing, and the warnings (on stderr) say what that leaves unguarded.

    \b
    Examples:
      pyevents db upgrade --dsn postgresql://postgres@localhost/events
      pyevents --config prod.toml db upgrade --format json
    """
    from pyevents.backends.postgres import schema

    target, prefix = _target(dsn)
    warnings: list[str] = []
    applied = schema.upgrade(target, on_warning=warnings.append, prefix=prefix)
    state = schema.status(target)
    if output_format == "json":
        document = {
            "applied": applied,
            "schema_version": state.installed_version,
            "warnings": warnings,
            "missing_protection": state.missing_protection,
        }
        click.echo(output.dumps(document))
        return
    for message in warnings:
        _warn(message)
    _missing_protection(state.missing_protection)
    if applied:
        click.echo(f"applied {len(applied)} migration{'s' if len(applied) != 1 else ''}:")
        for migration in applied:
            click.echo(f"  {migration}")
    else:
        click.echo("schema is up to date: no migrations to apply (functions and privileges re-applied)")
    click.echo(f"schema version: {state.installed_version}")


@db.command()
@format_option("table", "json")
@dsn_option
def status(output_format: str, dsn: str | None) -> None:
    """Show the installed schema version, applied and pending migrations, whether pg_partman
    manages the partitions, the store's role names, and what protection is missing (no event
    triggers without a superuser install).

    \b
    Examples:
      pyevents db status --dsn postgresql://postgres@localhost/events
      pyevents db status --format json
    """
    from pyevents.backends.postgres import schema

    target, _ = _target(dsn)
    state = schema.status(target)
    if output_format == "json":
        document = {
            "dsn": mask_dsn(target),
            "installed_version": state.installed_version,
            "applied": state.applied,
            "pending": state.pending,
            "partman": state.partman,
            "missing_protection": state.missing_protection,
            "role_prefix": state.role_prefix,
        }
        click.echo(output.dumps(document))
        return
    partitions = "pg_partman" if state.partman else "pyevents (ensure_partitions)"
    click.echo(
        output.key_values(
            [
                ("database", mask_dsn(target)),
                ("installed version", state.installed_version or "not installed (run: pyevents db upgrade)"),
                ("applied migrations", len(state.applied)),
                ("pending migrations", len(state.pending)),
                ("partitions managed by", partitions if state.installed_version else "-"),
                ("roles", f"{state.role_prefix}owner, {state.role_prefix}writer, ..." if state.role_prefix else "-"),
                ("protection", "complete" if not state.missing_protection else "INCOMPLETE (see below)"),
            ]
        )
    )
    if state.installed_version and state.missing_protection:
        click.echo("\nprotection missing:")
        for text in state.missing_protection:
            click.echo(f"  {text}")
    for title, migrations in (("applied", state.applied), ("pending", state.pending)):
        if migrations:
            click.echo(f"\n{title}:")
            for migration in migrations:
                click.echo(f"  {migration}")


@db.command()
@click.option(
    "-o",
    "--output",
    "output_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the script to FILE instead of stdout.",
)
def bundle(output_path: Path | None) -> None:
    """Print the whole schema as one SQL script, for `psql -v ON_ERROR_STOP=1 -f`.

    No connection is needed. The script installs or upgrades in one transaction, the same
    result as `db upgrade`; its roles are named with the configured postgresql.role_prefix.

    \b
    Examples:
      pyevents db bundle > pyevents.sql
      pyevents db bundle -o pyevents.sql && psql -v ON_ERROR_STOP=1 -f pyevents.sql events
    """
    from pyevents.backends.postgres import schema

    script = schema.bundle(schema.role_prefix(load_config()))
    if output_path is None:
        click.echo(script, nl=False)
        return
    try:
        output_path.write_text(script, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {output_path}: {exc.strerror}") from None
    click.echo(f"wrote {output_path} ({len(script.encode())} bytes)", err=True)


@db.command("audit-setup")
@click.argument("part", type=click.Choice(["server", "database"]))
@click.argument("database", required=False)
def audit_setup(part: str, database: str | None) -> None:
    """Print the setup of the access audit (pgAudit and the server log; docs/access-audit.md).

    `server` prints postgresql.conf lines (restart the server after adding them); `database
    NAME` prints the SQL a superuser then runs in the store's database. No connection is made.

    \b
    Examples:
      pyevents db audit-setup server >> /etc/postgresql/15/main/conf.d/pyevents-audit.conf
      pyevents db audit-setup database events | psql -v ON_ERROR_STOP=1 events
    """
    from pyevents.backends.postgres import schema

    if part == "server":
        if database is not None:
            raise click.UsageError("`server` takes no database name")
        click.echo(schema.audit_server_conf(), nl=False)
        return
    if not database:
        raise click.UsageError("`database` needs the name of the store's database")
    click.echo(schema.audit_database_sql(database), nl=False)


@db.group()
def redact() -> None:
    """The sensitive paths PostgreSQL masks in the auditor's views and functions.

    They live in table pyevents.redacted_paths, so psql users get the same masking; `sync`
    writes the configuration's [security] redact list there.

    \b
    Examples:
      pyevents --config prod.toml db redact sync
      pyevents db redact list --format json
    """


@redact.command("sync")
@format_option("table", "json")
@dsn_option
def redact_sync(output_format: str, dsn: str | None) -> None:
    """Make pyevents.redacted_paths hold exactly the configured [security] redact paths (run as
    the schema's installer: a superuser or the managed service's master user).

    \b
    Examples:
      pyevents --config prod.toml db redact sync
    """
    from pyevents.backends.postgres import schema
    from pyevents.redaction import configured_paths

    paths = list(configured_paths(load_config(dsn)))
    target, _ = _target(dsn)
    changes = schema.sync_redacted_paths(target, paths)
    if output_format == "json":
        click.echo(output.dumps({"paths": paths, "changes": [{"path": p, "change": c} for p, c in changes]}))
        return
    for path, change in changes:
        click.echo(f"{change}: {path}")
    click.echo(f"{len(paths)} redacted path{'s' if len(paths) != 1 else ''}; {len(changes)} changed")


@redact.command("list")
@format_option("table", "json")
@dsn_option
def redact_list(output_format: str, dsn: str | None) -> None:
    """List the paths in pyevents.redacted_paths.

    \b
    Examples:
      pyevents db redact list --dsn postgresql://auditor@localhost/events
    """
    from pyevents.backends.postgres import schema

    target, _ = _target(dsn)
    paths = schema.redacted_paths(target)
    if output_format == "json":
        click.echo(output.dumps({"paths": paths}))
    elif paths:
        click.echo("\n".join(paths))
    else:
        click.echo("(no redacted paths)")


@db.command()
@click.argument("role")
@click.argument("user")
@dsn_option
def grant(role: str, user: str, dsn: str | None) -> None:
    """Grant the store's role ROLE to the login USER.

    ROLE is one of writer, reader, consumer, auditor, retention, named with the configured
    postgresql.role_prefix (pyevents_writer, ...). The owner is granted to nobody. Roles are
    cluster-wide: the grant reaches every database whose store uses the same prefix.

    \b
    Examples:
      pyevents db grant writer orders_app --dsn postgresql://postgres@localhost/events
      pyevents db grant retention retention_job
    """
    from pyevents.backends.postgres import schema

    target, prefix = _target(dsn)
    name = schema.grant_role(target, role, user, prefix)
    click.echo(f"granted {name} to {user}")


@db.command()
@click.argument("role")
@click.argument("user")
@dsn_option
def revoke(role: str, user: str, dsn: str | None) -> None:
    """Revoke the store's role ROLE from the login USER (see `db grant`).

    \b
    Examples:
      pyevents db revoke writer orders_app --dsn postgresql://postgres@localhost/events
    """
    from pyevents.backends.postgres import schema

    target, prefix = _target(dsn)
    name, was_member = schema.revoke_role(target, role, user, prefix)
    click.echo(f"revoked {name} from {user}" if was_member else f"{user} was not a member of {name}: nothing to revoke")
