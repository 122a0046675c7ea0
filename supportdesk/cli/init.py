"""`supportdesk init`: create or upgrade the schema, the audit key and the first lead (the one
command that imports Alembic, through services.admin.setup)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from supportdesk.cli.env import Env, pass_env
from supportdesk.cli.output import say
from supportdesk.core.policy import load_policy_file
from supportdesk.file_modes import PRIVATE_DIR, make_dirs, sharing_for
from supportdesk.services.admin.setup import init_database
from supportdesk.store import default_db_path


@click.command()
@click.option("--admin", help="Login of the first lead to create.")
@click.option("--admin-name", help="Full name of that lead.")
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False),
    help="SLA policy TOML to put in force (default: the bundled one on a new database).",
)
@click.option(
    "--group",
    help="Share the desk with this group: new files 0660, new folders 2770 (default: 0600/0700).",
)
@pass_env
def init(
    env: Env,
    admin: str | None,
    admin_name: str | None,
    policy_file: str | None,
    group: str | None,
) -> None:
    """Create or upgrade the database schema, the audit key and the first lead. Files it
    creates are readable by you alone (or by --group); it takes others' access away from
    the desk's existing files and says so, and never widens anyone's."""
    policy = load_policy_file(policy_file) if policy_file else None  # validate first
    sharing = sharing_for(group)
    if not env.db and not os.environ.get("SUPPORTDESK_DB"):
        make_dirs(default_db_path().parent, PRIVATE_DIR)  # ours, unlike --db's
    if sharing.gid is not None and env.db and "://" not in env.db:
        make_dirs(Path(env.db).expanduser().resolve().parent, sharing.dir_mode, sharing)
    desk = env.desk(check_schema=False)
    result = init_database(desk, admin, admin_name, policy, sharing)
    before = result.revision_before or "empty"
    say(f"database {desk.store.display_name()}: schema {before} -> {result.revision_after}")
    say(f"audit key {result.key_path}" + (" (created)" if result.key_created else ""))
    for line in result.files:
        say(line)
    if result.admin_created:
        say(f"lead {result.admin_created} created")
    say(
        f"SLA policy {result.policy}"
        + (f": {result.recomputed} open tickets recomputed" if result.recomputed else "")
    )
