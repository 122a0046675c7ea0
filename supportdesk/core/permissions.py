"""The permission matrix: what each role may do, and which tiers each may work. One place."""

from __future__ import annotations

from dataclasses import dataclass

from supportdesk.enums import Role
from supportdesk.errors import NotAllowed

EVERYONE = frozenset(Role)
LEADS = frozenset({Role.LEAD})
ENGINEERS = frozenset({Role.ENGINEER, Role.LEAD})

# action -> roles allowed. Tier limits are checked separately by `require_tier`.
MATRIX: dict[str, frozenset[Role]] = {
    "ticket.create": EVERYONE,
    "caller.verify": EVERYONE,
    "mail.ingest": EVERYONE,
    "mail.send": EVERYONE,  # deliver the outbox (`mail send`, a cron job under its own login)
    "ticket.read": EVERYONE,
    "ticket.reply": EVERYONE,
    "ticket.call": EVERYONE,
    "ticket.note": EVERYONE,
    "ticket.update": EVERYONE,
    "ticket.take": EVERYONE,
    "ticket.resolve": EVERYONE,
    "ticket.merge": EVERYONE,
    "ticket.escalate": EVERYONE,  # up a tier, back down, or a complaint to a supervisor
    "ticket.redact": LEADS,
    "ticket.override_holder": LEADS,  # change a ticket someone else holds
    "staff.manage": LEADS,
    "sla.policy": LEADS,  # load an SLA policy (recomputes open tickets)
    "contact.manage": LEADS,
    "account.manage": LEADS,
    "service.manage": LEADS,
    "desk.write_frozen": LEADS,  # writes under --at on a non-demo database
    "desk.import": LEADS,  # bring in another helpdesk's export (accounts, tickets)
    "desk.export": LEADS,  # every ticket, thread and file, out of the desk
    "incident.open": EVERYONE,  # an outage, with the on-call engineer as its owner
    "incident.manage": ENGINEERS,  # customer updates, resolution (and the owner, always)
    "maintenance.manage": ENGINEERS,  # announce a maintenance window
    "template.manage": LEADS,  # canned replies and the automatic messages' text (issue 20)
    "template.read": EVERYONE,
    "contact.pin": LEADS,  # set a contact's support PIN, lift a lockout
    "mail.outbox": LEADS,  # the outbox, a retry
    "mail.review": LEADS,  # mail from unlisted senders, held tickets with mail on them
    "board.sla": LEADS,  # the lead's SLA board: its lists, figures and drill-downs
    "complaint.ack": LEADS,
}

# what each action is, in the words of a refusal: "amir is an agent: <doing> is for leads"
DOING: dict[str, str] = {
    "ticket.create": "opening a ticket",
    "caller.verify": "verifying a caller",
    "mail.ingest": "filing mail",
    "mail.send": "sending the outbox",
    "ticket.read": "reading tickets",
    "ticket.reply": "replying",
    "ticket.call": "logging a call",
    "ticket.note": "adding a note",
    "ticket.update": "changing a ticket",
    "ticket.take": "taking a ticket",
    "ticket.resolve": "resolving a ticket",
    "ticket.merge": "merging tickets",
    "ticket.escalate": "escalating a ticket",
    "ticket.redact": "redacting a ticket's text or files",
    "ticket.override_holder": "changing a ticket someone else holds",
    "staff.manage": "managing staff",
    "sla.policy": "loading an SLA policy",
    "contact.manage": "changing an account's contacts without a verified owner's request",
    "account.manage": "changing accounts",
    "service.manage": "changing services",
    "desk.write_frozen": "writing under --at to a desk that is not a demo",
    "desk.import": "importing another helpdesk's tickets",
    "desk.export": "exporting the desk",
    "incident.open": "opening an incident",
    "incident.manage": "updating or resolving an incident",
    "maintenance.manage": "announcing maintenance",
    "template.manage": "changing templates",
    "template.read": "reading templates",
    "contact.pin": "setting a support PIN or lifting a lockout",
    "mail.outbox": "the outbox",
    "mail.review": "reviewing mail from unlisted senders and held tickets",
    "board.sla": "the lead's SLA board",
    "complaint.ack": "acknowledging a complaint",
}
ROLES_WORDS = {LEADS: "leads", ENGINEERS: "engineers and leads", EVERYONE: "everyone"}

# The tiers each role may work (take, change, resolve). Engineers are further limited to
# their own tier and below; see `max_tier`.
ROLE_TIERS: dict[Role, frozenset[int]] = {
    Role.AGENT: frozenset({1}),
    Role.ENGINEER: frozenset({2, 3}),
    Role.LEAD: frozenset({1, 2, 3}),
}


@dataclass(frozen=True)
class Actor:
    """The staff member a process acts as, and where it runs."""

    staff_id: int
    login: str
    name: str
    tier: int
    role: Role
    os_user: str
    host: str

    @property
    def is_lead(self) -> bool:
        return self.role is Role.LEAD


def allowed(actor: Actor, action: str) -> bool:
    return actor.role in MATRIX[action]


def role_refusal(actor: Actor, action: str) -> str:
    """Why `actor` may not do `action`, in words: "amir is an agent: changing a ticket
    someone else holds is for leads"."""
    role = actor.role.value
    who = ROLES_WORDS[MATRIX[action]]  # every set of roles the matrix uses has its words
    article = "an" if role[0] in "aeiou" else "a"
    return f"{actor.login} is {article} {role}: {DOING[action]} is for {who}"


def require(actor: Actor, action: str) -> None:
    if not allowed(actor, action):
        raise NotAllowed(role_refusal(actor, action))


def may_work_tier(actor: Actor, tier: int) -> bool:
    """Agents work tier 1; engineers tiers 2-3 up to their own (and tier-1 tickets below
    them); leads everything."""
    if actor.role is Role.LEAD:
        return True
    if actor.role is Role.ENGINEER:
        return tier <= actor.tier
    return tier in ROLE_TIERS[actor.role] and tier <= actor.tier


def require_tier(actor: Actor, tier: int, what: str = "this ticket") -> None:
    if not may_work_tier(actor, tier):
        raise NotAllowed(
            f"{actor.login} ({actor.role.value}, tier {actor.tier}) cannot work {what} "
            f"at tier {tier}"
        )


# A customer's call (and what they said on it) is logged on any ticket by every agent, at
# any tier, whoever holds it: the holder is told, and the claim's last-touched time is not
# refreshed (a stale claim stays visible). Every other change keeps the tier and holder rule.
ANY_TICKET = frozenset({"ticket.call"})


def refusal(
    actor: Actor, action: str, ticket_id: int, tier: int, other_holder: str | None
) -> str | None:
    """Why `actor` may not do `action` on ticket `ticket_id` (at `tier`, held by
    `other_holder` when someone else holds it), or None: the one rule, read by the write
    guard and by the console before anything is typed."""
    if not allowed(actor, action):
        return role_refusal(actor, action)
    if action in ANY_TICKET:
        return None
    if not may_work_tier(actor, tier):
        return (
            f"{actor.login} ({actor.role.value}, tier {actor.tier}) cannot work "
            f"ticket #{ticket_id} at tier {tier}"
        )
    if (
        other_holder is not None
        and not allowed(actor, "ticket.override_holder")
        and action != "ticket.note"
    ):
        return f"ticket #{ticket_id} is held by {other_holder}; only they or a lead may change it"
    return None


def validate_staff_tier(role: Role, tier: int) -> None:
    """Staff records must be coherent: agents are tier 1, engineers 2 or 3."""
    from supportdesk.errors import UsageError

    if tier not in (1, 2, 3):
        raise UsageError(f"--tier must be 1, 2 or 3, not {tier}")
    if tier not in ROLE_TIERS[role]:
        allowed_tiers = ", ".join(str(t) for t in sorted(ROLE_TIERS[role]))
        raise UsageError(f"a {role.value} works tier {allowed_tiers}, not tier {tier}")
