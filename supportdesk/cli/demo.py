"""`supportdesk demo`: build a demo database (atomically, for a file) and open the console on
it."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click
from platformdirs import user_data_dir

from supportdesk import demo as generator
from supportdesk.cli.env import Env, open_console, pass_env
from supportdesk.core.audit_key import key_path_for
from supportdesk.core.desk import Desk
from supportdesk.errors import UsageError
from supportdesk.file_modes import PRIVATE_DIR, make_dirs
from supportdesk.services.admin.setup import init_database
from supportdesk.store import Store


def _default_demo_path() -> Path:
    return Path(user_data_dir("supportdesk", appauthor=False)) / "demo.db"


@click.command()
@click.option("--tickets", default=5000, show_default=True, type=click.IntRange(1, 5_000_000))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--no-open", is_flag=True, help="Build the database but do not open the console.")
@click.option(
    "--fresh",
    is_flag=True,
    help="Build a new demo in place of the one there (new tickets, new PINs).",
)
@pass_env
def demo(env: Env, tickets: int, seed: int, no_open: bool, fresh: bool) -> None:
    """Open the demo database as a demo lead (or as `--as LOGIN` typed before `demo`),
    building it first when there is none (--fresh builds a new one in its place). A demo
    file is built beside the old one and renamed into place: a build stopped at any moment
    leaves the old demo (or none)."""
    path = env.db
    if not path:
        default = _default_demo_path()
        make_dirs(default.parent, PRIVATE_DIR)
        path = str(default)
    store = Store(path)
    key = key_path_for(store.display_name(), env.key)
    admin = generator.DEMO_ADMIN[0]
    where = f" --db {shlex.quote(path)}"
    existing = _existing_demo(store)
    if existing is not None and not fresh:
        store.dispose()
        click.echo(
            f"demo database {store.display_name()}: {existing:,} tickets, opened as it is "
            "(`supportdesk demo --fresh` builds a new one)"
        )
        if not no_open:
            open_console(Desk(Store(path), _opener(env, admin), env.clock(), key))
        return
    if store.is_sqlite:  # refuse before the progress bar shows (checked again while building)
        if store.target.sqlite_uri:
            raise UsageError("demo needs a file path for --db, not an SQLite URI")
        generator.check_replaceable(Path(str(store.target.sqlite_path)))
    elif store.schema_revision() is not None and not generator.is_leftover_init(store):
        if existing is not None:
            raise UsageError(
                f"{store.display_name()} holds a demo: --fresh on PostgreSQL needs an empty "
                "database (drop it, or its schema, first)"
            )
        raise UsageError(f"{store.display_name()} already has a schema: demo needs an empty one")
    with click.progressbar(length=tickets, label="building demo", file=sys.stderr) as bar:
        last = [0]

        def progress(done: int, _total: int) -> None:
            bar.update(done - last[0])
            last[0] = done

        if store.is_sqlite:
            db_file = Path(str(store.target.sqlite_path))
            make_dirs(db_file.parent, PRIVATE_DIR)
            built = generator.build_demo_file(
                db_file, key, env.clock(), tickets=tickets, seed=seed, progress=progress
            )
            result, pins = built.result, built.pins
        else:
            desk = Desk(store, admin, env.clock(), key)
            init_database(desk, admin=admin, admin_name=generator.DEMO_ADMIN[1])
            generator.stage_mark("init")
            result = generator.build_demo(desk, tickets=tickets, seed=seed, progress=progress)
            pins = generator.issue_demo_pins(Desk(store, admin, env.clock(), key))
    click.echo(
        f"demo database {store.display_name()}: {result.tickets:,} tickets, "
        f"{result.accounts:,} accounts in {result.seconds:.1f} s"
    )
    click.echo("logins:")
    for s in result.staff:
        click.echo(f"  {s.login:<10} {s.role:<9} tier {s.tier}  {s.name}")
    click.echo("demo callers with a support PIN (every other contact has none):")
    for account, name, address, pin in pins:
        click.echo(f"  account {account:<24} {name:<24} {address:<36} PIN {pin}")

    click.echo(f"open it as a phone agent: supportdesk{where} --as {result.agent_login}")
    click.echo(f"open it as an engineer:   supportdesk{where} --as {result.engineer_login}")
    if not no_open:
        # the PINs go to the console's first-run panel from memory: they are stored hashed
        welcome = generator.Welcome(
            where=where.strip(),
            staff=tuple((s.login, s.role, s.tier, s.name) for s in result.staff),
            pins=tuple(pins),
            agent=result.agent_login,
            engineer=result.engineer_login,
        )
        login = _opener(env, result.lead_login)
        open_console(Desk(Store(path), login, env.clock(), key), welcome=welcome)


def _opener(env: Env, lead: str) -> str:
    """Who the console opens as: `--as` when typed on the command line, else the lead."""
    return env.login if env.login_typed and env.login else lead


def _existing_demo(store: Store) -> int | None:
    """The number of tickets of the demo already at `store` (None: no demo there, or only
    what a build killed after `init` left)."""
    if store.is_sqlite:
        file = Path(str(store.target.sqlite_path))
        if store.target.sqlite_uri or not file.exists() or file.stat().st_size == 0:
            return None
    if store.schema_revision() is None or generator.is_leftover_init(store):
        return None
    if not store.query("SELECT 1 FROM settings WHERE key = 'demo'"):
        return None
    return int(store.query("SELECT count(*) FROM tickets")[0][0])
