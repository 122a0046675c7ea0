"""Put a new SLA policy in force: plans dropped by it move as told, clocks are recomputed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from supportdesk.core import permissions
from supportdesk.core.desk import Desk
from supportdesk.core.policy import POLICY_KEY, policy_from_text
from supportdesk.errors import UsageError
from supportdesk.rules.policy import Policy
from supportdesk.services.sla.bulk import backfill, recompute

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class LoadResult:
    policy: Policy
    changed: bool
    recomputed: int  # open tickets whose clocks changed
    backfilled: int = 0  # tickets that had no clocks yet (an upgraded database)
    moved: tuple[tuple[str, str, int], ...] = ()  # (old plan, new plan, accounts moved)


def load_policy(
    desk: Desk,
    policy: Policy,
    *,
    require_lead: bool = True,
    move_plans: Mapping[str, str] | None = None,
) -> LoadResult:
    """Put `policy` in force and recompute the clocks of open tickets (stopped clocks keep
    their outcome). All in one transaction: a failure leaves the old policy and clocks.

    A plan that accounts still use may be dropped only when `move_plans` says where its
    accounts go (old name -> a plan of `policy`); otherwise their clocks would silently run
    on the default plan while the accounts still name the old one."""
    from supportdesk.models import Setting

    if require_lead:
        permissions.require(desk.actor, "sla.policy")
    moves = dict(move_plans or {})
    for old, new in moves.items():
        if new not in policy.plans:
            raise UsageError(
                f"--move-plan {old}={new}: the new policy has no plan {new!r} "
                f"(plans: {', '.join(sorted(policy.plans))})"
            )
        if old == new:
            raise UsageError(f"--move-plan {old}={new}: a plan cannot move to itself")
    with desk.write(actor_required=require_lead) as (session, record):
        setting = session.get(Setting, POLICY_KEY)
        old_text = setting.value if setting else None
        if old_text == policy.text and not moves:
            return LoadResult(policy, False, 0)
        moved = _move_plans(session, record, policy, moves)
        if setting is None:
            session.add(Setting(key=POLICY_KEY, value=policy.text))
        else:
            setting.value = policy.text
        old_digest = policy_from_text(old_text).digest if old_text else None
        session.flush()
        filled = backfill(session, desk, policy)  # tickets from before SLA clocks existed
        count = recompute(session, desk, policy, reason=f"policy {policy.digest}")
        record(
            "sla.policy",
            "desk",
            "sla_policy",
            {
                "policy": [old_digest, policy.digest],
                "name": [None, policy.name],
                "tickets_recomputed": [None, count],
                "tickets_backfilled": [None, filled],
                **({"plans_moved": [None, [list(m) for m in moved]]} if moved else {}),
            },
        )
    return LoadResult(policy, True, count, filled, moved)


def _move_plans(
    session: Session, record: Any, policy: Policy, moves: dict[str, str]
) -> tuple[tuple[str, str, int], ...]:
    """Refuse a policy that drops a plan accounts use, unless `moves` says where they go;
    move them (one `account.plan` audit row each). Returns (old, new, count) per move."""
    from sqlalchemy import func, select, update

    from supportdesk.models import Account

    used: dict[str, int] = {
        plan: int(n)
        for plan, n in session.execute(select(Account.plan, func.count()).group_by(Account.plan))
    }
    dropped = sorted(p for p in used if p not in policy.plans and p not in moves)
    if dropped:
        plan, n = dropped[0], used[dropped[0]]
        others = f" (and {len(dropped) - 1} more plans in use)" if len(dropped) > 1 else ""
        raise UsageError(
            f"the new policy drops plan {plan!r}, which {n} account{'s' if n != 1 else ''} "
            f"use{'' if n != 1 else 's'}{others}: say where they go with "
            f"--move-plan {plan}=PLAN (plans: {', '.join(sorted(policy.plans))}); "
            "nothing was changed"
        )
    out = []
    for old, new in sorted(moves.items()):
        ids = sorted(session.scalars(select(Account.id).where(Account.plan == old)))
        if ids:
            session.execute(update(Account).where(Account.plan == old).values(plan=new))
            record.many(
                [
                    ("account.plan", "account", i, {"plan": [old, new], "by": [None, "policy"]})
                    for i in ids
                ]
            )
        out.append((old, new, len(ids)))
    return tuple(out)
