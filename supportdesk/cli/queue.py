"""`supportdesk queue`: the queue in the console's order, one line a ticket.

The CLI's fast path (the aim: `queue --limit 50` on a million tickets within 0.3 s, the
whole process): it reads with the plain driver through core.queue, formats the clocks with
services.sla, and imports neither SQLAlchemy's ORM nor the models (tests/cli/test_lazy_cli.py)."""

from __future__ import annotations

import click

from supportdesk.cli.env import Env, pass_env
from supportdesk.cli.output import age, emit, inert, json_option, say
from supportdesk.cli.params import choice
from supportdesk.core import queue as q
from supportdesk.enums import Category, View
from supportdesk.services import sla as sla_service


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
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
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
    limit: int,
    sort: str,
    as_json: bool,
) -> None:
    """Print the queue in exactly the console's order."""
    desk = env.desk()
    filt = q.QueueFilter(View(view), tier, category, mine, unclaimed, search, sort)
    page = q.page(desk, filt, limit=limit)
    if as_json:
        emit(list(page.rows), True)
        return
    now = desk.now()
    if not page.rows:
        say(f"nothing in {inert(filt.describe())}")
        return
    policy = sla_service.current_policy(desk)
    for r in page.rows:
        due = sla_service.next_due_text(r.clocks, policy.plan_for(r.sla_plan), now)
        say(
            f"#{r.id:<8} {r.priority[:4]:<4} {age(r.created_at, now):>4} {due:>10} "
            f"{inert(r.account)[:16]:<16} t{r.tier} {inert(r.holder or '-')[:10]:<10} "
            f"{r.channel:<6} {inert(r.subject)[:60]}"
        )
