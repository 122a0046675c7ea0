"""Linking to an incident in two keys, from the ticket screen and the call screen: `i`, then
the incident's number (or Enter for the first). The incidents offered come from memory (the
app's watch and the account's notices), those affecting the account first; linking one that
does not affect it asks why.

From a ticket, `c` instead of the number also logs the call with the caller on the line,
which is the customer's response (the respond clock stops). From a call with no ticket the
call is recorded against the incident and the account: no ticket is opened.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from supportdesk.console.screens.modals import AskModal, Choice, ChoiceModal
from supportdesk.console.widgets.format import truncate
from supportdesk.services import incidents
from supportdesk.services.incidents import maintenance

if TYPE_CHECKING:
    from supportdesk.console.screens.base import DeskScreen
    from supportdesk.services.incidents import IncidentSummary
    from supportdesk.services.incidents.maintenance import WindowView

CALL_PREFIX = "call:"


def offered(screen: DeskScreen, affecting: Sequence[IncidentSummary]) -> list[IncidentSummary]:
    """The account's incidents first, then the other open ones (at most nine)."""
    others = screen.desk_app.incidents.incidents  # the open ones, as the watch read them
    ids = {i.id for i in affecting}
    return [*affecting, *(i for i in others if i.id not in ids)][:9]


def _choices(found: Sequence[IncidentSummary], affected: set[int], call: bool) -> list[Choice]:
    out = []
    for n, inc in enumerate(found, 1):
        where = ", ".join(inc.servers)
        tail = "" if inc.id in affected else " (not this account's servers: asks why)"
        label = truncate(f"#{inc.id} {inc.state} · {where} · {inc.title}", 60) + tail
        out.append(Choice(str(n), str(inc.id), label))
    if call and found and found[0].id in affected:
        first = found[0]
        out.append(
            Choice(
                "c",
                f"{CALL_PREFIX}{first.id}",
                f"#{first.id}, and log the call: the caller is on the line (answers the ticket)",
            )
        )
    return out


def _with_reason(
    screen: DeskScreen, incident_id: int, needed: bool, go: Callable[[str | None], None]
) -> None:
    if not needed:
        go(None)
        return

    def answered(reason: str | None) -> None:
        if reason:
            go(reason)

    screen.app.push_screen(
        AskModal(
            f"This account is not on incident #{incident_id}'s servers: why link it?",
            "the reason is kept with the link",
        ),
        answered,
    )


def link_ticket(screen: DeskScreen, ticket_id: int, affecting: Sequence[IncidentSummary]) -> None:
    """`i` on a ticket: pick the incident (or `c`: and log the call), then it is linked."""
    found = offered(screen, affecting)
    if not found:
        screen.notify("no open incident", severity="warning", timeout=3)
        return
    affected = {i.id for i in affecting}

    def picked(value: str | None) -> None:
        if not value:
            return
        call = value.startswith(CALL_PREFIX)
        incident_id = int(value.removeprefix(CALL_PREFIX))

        def go(reason: str | None) -> None:
            what = f"#{ticket_id} linked to incident #{incident_id}" + (
                " (call logged)" if call else ""
            )
            screen.run_write(
                what,
                lambda: incidents.link_ticket(
                    screen.desk, incident_id, ticket_id, reason=reason, call=call
                ),
            )

        _with_reason(screen, incident_id, incident_id not in affected, go)

    screen.app.push_screen(
        ChoiceModal(f"Link #{ticket_id} to an incident", _choices(found, affected, True)),
        picked,
    )


def link_call(
    screen: DeskScreen,
    account: str,
    affecting: Sequence[IncidentSummary],
    *,
    contact_id: int | None = None,
    verification_id: int | None = None,
    caller_name: str | None = None,
    caller_phone: str | None = None,
    done: Callable[[], None] | None = None,
) -> None:
    """`i` in a call: the call is recorded against the incident (no ticket is opened)."""
    found = offered(screen, affecting)
    if not found:
        screen.notify("no open incident", severity="warning", timeout=3)
        return
    affected = {i.id for i in affecting}

    def picked(value: str | None) -> None:
        if not value:
            return
        incident_id = int(value)

        def go(reason: str | None) -> None:
            def write() -> object:
                result = incidents.log_call(
                    screen.desk,
                    incident_id,
                    account,
                    contact_id=contact_id,
                    verification_id=verification_id,
                    caller_name=caller_name,
                    caller_phone=caller_phone,
                    reason=reason,
                )
                if done is not None:
                    screen.app.call_from_thread(done)
                return result

            screen.run_write(f"call from {account} recorded against incident #{incident_id}", write)

        _with_reason(screen, incident_id, incident_id not in affected, go)

    screen.app.push_screen(
        ChoiceModal("This call is about incident…", _choices(found, affected, False)), picked
    )


def schedule_ticket(screen: DeskScreen, ticket_id: int, windows: Sequence[WindowView]) -> None:
    """`w` on a ticket whose fix needs server work: pick a maintenance window on the
    account's servers (1-9, or Enter for the soonest); the ticket is scheduled into it and
    its clocks pause until it opens."""
    now = screen.desk.now()
    upcoming = [w for w in windows if w.starts_at > now][:9]
    if not upcoming:
        screen.notify(
            "no maintenance window ahead on this account's servers "
            "(`supportdesk maintenance add` announces one)",
            severity="warning",
            timeout=5,
        )
        return
    from supportdesk.console.widgets.incident_banner import clock_time, when

    choices = [
        Choice(
            str(n),
            str(w.id),
            truncate(
                f"#{w.id} {', '.join(w.servers)} · {when(w.starts_at, now)} to "
                f"{clock_time(w.ends_at, now)} · {w.notice}",
                70,
            ),
        )
        for n, w in enumerate(upcoming, 1)
    ]

    def picked(value: str | None) -> None:
        if value:
            window_id = int(value)
            screen.run_write(
                f"#{ticket_id} scheduled into maintenance window #{window_id}: clocks paused",
                lambda: maintenance.schedule(screen.desk, ticket_id, window_id),
            )

    screen.app.push_screen(
        ChoiceModal(f"Schedule #{ticket_id}'s server work into…", choices), picked
    )
