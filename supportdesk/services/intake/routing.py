"""Which of the desk's mailboxes a message was delivered to, and what becomes of mail from a
once-off client (issue 19, 3; the policy's `[intake]`, rules/policy_intake.py).

- The mailbox is the envelope recipient the mail server passes (`mail ingest --recipient`),
  never a `To:` header (anyone can write any To:). With `[intake.mailboxes]` listed, mail
  to `complaint@` is flagged for a supervisor on arrival (the leads are told, as
  `ticket complaint` does), mail to `billing@` is a billing ticket (its request type only
  suggested: a person sets it), and mail delivered to any other address is filed closed with
  the reason. Without a recipient (typed in by staff, released from the quarantine, or a
  server that passes none) the mail goes to support, as before mailboxes. Without mailboxes
  every address is support.
- `unlisted_senders = "once_off"` (seed 004's once-off clients): mail from an address no
  account lists is filed on the one intake account the policy names (made the first time it
  is needed; no account is ever made for a sender), acknowledged like any client's, at most
  `once_off_max_open` open tickets per sender; more is filed closed with the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from supportdesk.core.create import Settle
from supportdesk.core.desk import Desk
from supportdesk.core.tickets import DONE
from supportdesk.enums import Category, ResolutionCode, Status
from supportdesk.rules.policy import IntakeRules
from supportdesk.rules.policy_intake import refusal_text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.models import Account, Ticket

SUPPORT, COMPLAINT, BILLING = "support", "complaint", "billing"


@dataclass(frozen=True)
class Route:
    """Where a message goes: a route of `[intake.mailboxes]`, or refused (`why`)."""

    name: str
    address: str | None = None
    why: str | None = None

    @property
    def accepted(self) -> bool:
        return self.why is None


@dataclass(frozen=True)
class Filing:
    """How a new e-mail ticket is filed when not as usual: settled at birth, or not."""

    action: str
    settle: Settle | None = None
    acknowledge: bool = False


def route_of(intake: IntakeRules, recipient: str | None) -> Route:
    """The route of mail delivered to `recipient` (None: no envelope recipient known)."""
    if not intake.accepts("email"):
        return Route(SUPPORT, None, refusal_text(intake, "email"))
    if recipient is None or not intake.mailboxes:
        return Route(SUPPORT)
    address = recipient.strip().strip("<>").strip().lower()
    route = intake.mailboxes.get(address)
    if route is None:
        listed = ", ".join(intake.mailboxes)
        why = (
            f"delivered to {address or '(no address)'}, not one of the desk's mailboxes ({listed})"
        )
        return Route(SUPPORT, address, why)
    return Route(route, address)


def refused(route: Route) -> Filing:
    """Mail the desk does not accept: a ticket filed closed with the reason, unanswered."""
    assert route.why is not None
    return Filing("closed_mailbox", Settle(Status.CLOSED, route.why, ResolutionCode.OUT_OF_SCOPE))


def once_off(
    session: Session, desk: Desk, record: Any, intake: IntakeRules, sender: str
) -> tuple[str, Filing]:
    """The intake account and the filing of a once-off client's new mail."""
    from sqlalchemy import func, select

    from supportdesk.models import Ticket

    account = _intake_account(session, desk, record, intake.once_off_account)
    open_now = session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(
            Ticket.account_id == account.id,
            Ticket.sender == sender,
            Ticket.status.not_in(DONE),
        )
    )
    most = intake.once_off_max_open
    if (open_now or 0) >= most:
        why = (
            f"once-off client {sender} already has {open_now} open ticket"
            f"{'s' if open_now != 1 else ''} (at most {most}): add to the open one"
        )
        return account.id, Filing(
            "closed_once_off", Settle(Status.CLOSED, why, ResolutionCode.UNLISTED_SENDER)
        )
    return account.id, Filing("opened_once_off", None, acknowledge=True)


def _intake_account(session: Session, desk: Desk, record: Any, name: str) -> Account:
    from supportdesk.core.policy import current_policy
    from supportdesk.models import Account

    account = session.get(Account, name)
    if account is None:
        account = Account(
            id=name,
            company="Once-off clients (per-incident mail)",
            plan=current_policy(desk).default_plan,
            status="active",
            notes="Filed by `supportdesk mail ingest`: mail from once-off clients ([intake]).",
            created_at=desk.now(),
        )
        session.add(account)
        session.flush()
        record("account.add", "account", name, {"company": [None, account.company]})
    return account


def after_open(
    session: Session, desk: Desk, record: Any, ticket_id: int | None, route: Route
) -> None:
    """What the mailbox adds to a ticket it opened: a supervisor complaint, or billing."""
    from supportdesk.models import Ticket

    if ticket_id is None or not route.accepted or route.name == SUPPORT:
        return
    t = session.get(Ticket, ticket_id)
    if t is None or t.status in DONE:
        return
    if route.name == BILLING:
        t.category = Category.BILLING.value
        if t.suggested_type is None:
            t.suggested_type = "billing"
            t.suggested_words = json.dumps([f"mailbox {route.address}"])
        record(
            "ticket.route",
            "ticket",
            t.id,
            {"category": [None, t.category], "mailbox": [None, route.address]},
        )
    elif route.name == COMPLAINT:
        _complaint(session, desk, record, t, route)


def _complaint(session: Session, desk: Desk, record: Any, t: Ticket, route: Route) -> None:
    """Mail to the complaint mailbox reaches a supervisor (seed 001): flagged for the leads,
    each told, with an escalation of kind supervisor, as `ticket complaint` does (the same
    steps: services/escalation/moves.py)."""
    from supportdesk.services.escalation.moves import flag_to_supervisor

    why = f"mail to the complaint mailbox {route.address}: reaches a supervisor"
    notice = f"a complaint came in by mail as #{t.id}"
    flag_to_supervisor(session, desk, record, t, why, notice=notice, by_staff=False)
