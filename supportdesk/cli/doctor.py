"""`supportdesk doctor`: who can read the desk's files, and whether the schema is current.

Apart from `init`: it reads file modes and the schema version, and must not load the ORM or
Alembic to do so."""

from __future__ import annotations

import sys

import click

from supportdesk.cli.env import Env, pass_env
from supportdesk.cli.output import EXIT_ERROR, emit, json_option
from supportdesk.core.audit_key import key_path_for
from supportdesk.safe_text import clean
from supportdesk.services.admin.doctor import examine
from supportdesk.store import Store


@click.command()
@json_option
@pass_env
def doctor(env: Env, as_json: bool) -> None:
    """Who can read the desk's files (database, -wal, -shm, audit key, their folders) and
    whether the schema is current; exit 1 when something is open to others or wrong."""
    store = Store(env.db)
    try:
        report = examine(store, key_path_for(store.display_name(), env.key))
    finally:
        store.dispose()

    def text() -> str:
        schema = report.schema or "none"
        current = " (current)" if report.schema == report.schema_expected else ""
        lines = [f"database {clean(report.database)} ({report.kind}), schema {schema}{current}"]
        for c in report.files:
            if not c.exists:
                lines.append(f"  {c.what:<26} {clean(c.path)}: absent")
                continue
            lines.append(
                f"  {c.what:<26} {clean(c.path)}: {c.mode} {clean(c.owner or '')}:"
                f"{clean(c.group or '')}, group {c.group_access or 'nothing'}, "
                f"others {c.others_access or 'nothing'}"
            )
        lines += [f"note: {n}" for n in report.notes]
        lines += [f"problem: {clean(p)}" for p in report.problems]
        if report.ok:
            lines.append(
                "no problems: nobody but the owner (and the group shown) can read the desk"
            )
        return "\n".join(lines)

    emit({**report.to_json(), "ok": report.ok}, as_json, text)
    if not report.ok:
        sys.exit(EXIT_ERROR)
