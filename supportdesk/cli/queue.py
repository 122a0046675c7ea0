"""`supportdesk queue`: the queue in the console's order, one line a ticket.

The CLI's fast path (the aim: `queue --limit 50` on a million tickets within 0.3 s, the
whole process): it reads with the plain driver through core.queue, formats the clocks with
services.sla, and imports neither SQLAlchemy's ORM nor the models (tests/cli/test_lazy_cli.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from supportdesk.cli.env import Env, pass_env
from supportdesk.cli.output import age, inert, json_option, json_text, jsonable, say
from supportdesk.cli.params import choice
from supportdesk.core import queue as q
from supportdesk.core.views import QueueKey
from supportdesk.enums import Category, View
from supportdesk.services import sla as sla_service

CURSOR_RE = re.compile(
    r"(p)([0-3])\.(-?\d{1,20})\.(\d{1,19})|(d)(-?\d{1,20})\.(\d{1,19})", re.ASCII
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HEADER = (
    f"{'ID':<9} {'PRI':<4} {'AGE':>4} {'DUE':>10} {'ACCOUNT':<16} {'T':<2} {'HOLDER':<10} "
    f"{'CHAN':<6} SUBJECT"
)


def cursor_of(key: QueueKey, sort: str) -> str:
    """A position in the queue as text: `--after` starts the next page right after it."""
    if sort == "due":
        return f"d{key.sla_key}.{key.id}"
    micros = (key.created_at - EPOCH) // timedelta(microseconds=1)
    return f"p{key.priority_rank}.{micros}.{key.id}"


def parse_cursor(text: str, sort: str) -> QueueKey:
    match = CURSOR_RE.fullmatch(text.strip())
    if match is not None and any(
        not -(2**62) < int(part) < 2**62 for part in match.groups() if part and part[-1].isdigit()
    ):
        match = None  # no position holds numbers that large
    if match is None:
        raise click.UsageError(
            f"--after: not a queue cursor: {inert(text)!r} (copy it from the line after a page)"
        )
    if match.group(1):
        if sort != "priority":
            raise click.UsageError("--after: that cursor is from --sort priority")
        rank, micros, tid = (int(match.group(i)) for i in (2, 3, 4))
        try:
            created = EPOCH + timedelta(microseconds=micros)
        except OverflowError:
            raise click.UsageError(f"--after: not a queue cursor: {inert(text)!r}") from None
        return QueueKey(rank, created, tid)
    if sort != "due":
        raise click.UsageError("--after: that cursor is from --sort due")
    sla_key, tid = int(match.group(6)), int(match.group(7))
    return QueueKey(0, EPOCH, tid, sla_key)


@click.command()
@click.option(
    "--view",
    type=click.Choice(["queue", "held", "waiting", "scheduled"]),
    default="queue",
    show_default=True,
)
@click.option("--tier", type=click.IntRange(1, 3))
@click.option("--category", type=choice(Category))
@click.option("--mine", is_flag=True)
@click.option("--unclaimed", is_flag=True)
@click.option("--search")
@click.option(
    "--limit",
    type=click.IntRange(1, q.MAX_PAGE),
    help=f"Rows in the page (default 50, at most {q.MAX_PAGE:,}).",
)
@click.option(
    "--after",
    "cursor",
    metavar="CURSOR",
    help="Start after this row: the cursor printed after the previous page.",
)
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help=f"Every row, read {q.MAX_PAGE:,} at a time (not with --limit).",
)
@click.option(
    "--sort",
    type=click.Choice(["priority", "due"]),
    default="priority",
    show_default=True,
    help="due: breaches first (earliest running due time).",
)
@json_option
@pass_env
def queue(
    env: Env,
    view: str,
    tier: int | None,
    category: str | None,
    mine: bool,
    unclaimed: bool,
    search: str | None,
    limit: int | None,
    cursor: str | None,
    everything: bool,
    sort: str,
    as_json: bool,
) -> None:
    """Print the queue in exactly the console's order, a page at a time (--after the
    cursor printed below a page) or --all of it."""
    if everything and limit is not None:
        raise click.UsageError("--all prints every row: leave out --limit")
    after = parse_cursor(cursor, sort) if cursor is not None else None
    desk = env.desk()
    filt = q.QueueFilter(View(view), tier, category, mine, unclaimed, search, sort)
    size = q.MAX_PAGE if everything else (limit or 50)
    page = q.page(desk, filt, limit=size, after=after)
    if as_json:
        _json_pages(desk, filt, page, sort, everything)
        return
    if not page.rows:
        say(f"nothing in {inert(filt.describe())}" + (" after that cursor" if after else ""))
        return
    now = desk.now()
    policy = sla_service.current_policy(desk)
    say(HEADER)
    while True:
        for r in page.rows:
            due = sla_service.next_due_text(r.clocks, policy.plan_for(r.sla_plan), now)
            say(
                f"#{r.id:<8} {r.priority[:4]:<4} {age(r.created_at, now):>4} {due:>10} "
                f"{inert(r.account)[:16]:<16} t{r.tier} {inert(r.holder or '-')[:10]:<10} "
                f"{r.channel:<6} {inert(r.subject)[:60]}"
            )
        if not page.has_more_after:
            return
        last = cursor_of(page.rows[-1].key, sort)
        if not everything:
            say(f"-- more: the same command with --after {last}")
            return
        page = q.page(desk, filt, limit=size, after=page.rows[-1].key)


def _json_pages(desk: Any, filt: q.QueueFilter, page: Any, sort: str, everything: bool) -> None:
    """The rows as one JSON array, each with its cursor; with --all streamed page by page."""

    def row(r: Any) -> str:
        return json_text({**jsonable(r), "cursor": cursor_of(r.key, sort)})

    if not page.rows:
        click.echo("[]")
        return
    first = True
    click.echo("[")
    while True:
        for r in page.rows:
            if not first:
                click.echo(",")
            first = False
            click.echo(_indent(row(r)), nl=False)
        if not (everything and page.has_more_after):
            break
        page = q.page(desk, filt, limit=q.MAX_PAGE, after=page.rows[-1].key)
    click.echo("\n]")


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
