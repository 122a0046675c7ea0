"""The phone agent's day (issue 16, items 7, 9, 10, 11), driven like an agent would (Textual
Pilot) on a real SQLite file: a tier-1 agent logs a customer's call on an escalated ticket
someone else holds, refusals come before any typing, the card's countdown ticks, fast
type-ahead lands as typed, and the lookup finds what callers say."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens.call import CallScreen, CallStage
from supportdesk.console.screens.modals import HelpModal
from supportdesk.console.screens.ticket import TicketScreen
from supportdesk.console.widgets.incident_banner import IncidentBanner
from supportdesk.services import tickets
from supportdesk.services.callers.verification import FAILED, VERIFIED
from tests.helpers.call import (
    JANE,
    CallFixture,
    Keys,
    console_ready,
    contacts_listed,
    results,
    searched,
    stage,
    sync,
)
from tests.helpers.console import NOW, DeskFixture
from tests.helpers.screens import open_ticket_screen
from tests.helpers.settle import until, workers_done
from tests.helpers.toasts import toasts_cleared

ESCALATED = 6  # bluefin's, at tier 2, held by bo (tests/helpers/console.py)


def toasts(app: SupportDeskApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def touched(cf: CallFixture, ticket_id: int) -> Any:
    rows = cf.desk.store.query("SELECT touched_at FROM tickets WHERE id = ?", (ticket_id,))
    return rows[0][0]


# -- item 7: a customer's call on any ticket; every other refusal before any typing ----------
@sync
async def test_agent_refused_a_reply_before_typing_but_logs_the_call(call_fx: CallFixture) -> None:
    cf = call_fx
    before = touched(cf, ESCALATED)
    app = SupportDeskApp(cf.fx.desk_at("ana"))
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.console_id is not None, what="presence")
        await workers_done(app)
        await toasts_cleared(pilot)
        await pilot.press("g", *str(ESCALATED), "enter")
        screen = await open_ticket_screen(pilot, app, ESCALATED)
        await pilot.press("r")  # a reply on tier-2 work: refused before the editor opens
        await pilot.pause(0.1)
        assert screen.compose_kind is None and not screen.query_one("#composer").display
        assert any(f"cannot work ticket #{ESCALATED} at tier 2" in t for t in toasts(app))
        await pilot.press("c", "s")  # the customer's call: every agent's job
        assert screen.compose_kind == "call" and screen.query_one("#composer").display
        await pilot.press(*"Customer says mail still bounces", "ctrl+s")
        view = cf.fx.desk_at()
        await until(
            pilot,
            lambda: any(e.author == "ana" for e in tickets.show(view, ESCALATED).events),
            what=f"the call logged ({app.last_error})",
        )
        assert isinstance(app.screen, TicketScreen) and screen.compose_kind is None
    call = [e for e in tickets.show(cf.fx.desk_at(), ESCALATED).events if e.kind == "call"][-1]
    assert (call.author, call.body) == ("ana", "Customer says mail still bounces")
    assert touched(cf, ESCALATED) == before  # bo's claim: not refreshed by ana's call


@sync
async def test_call_screen_adds_a_call_to_an_escalated_ticket(call_fx: CallFixture) -> None:
    """The call screen offers bluefin's tier-2 ticket to a tier-1 agent, and the call lands."""
    cf = call_fx
    app = SupportDeskApp(cf.fx.desk_at("ana"))
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.console_id is not None, what="presence")
        await workers_done(app)
        keys = Keys(pilot)
        await keys.press("ctrl+k")
        await stage(pilot, CallStage.SEARCH)
        await keys.type("bluefin")
        await results(pilot, "bluefin")
        await keys.press("enter")
        await contacts_listed(pilot, "bluefin")
        await keys.press("0", "enter")  # not listed: held, and a call may still be logged
        await stage(pilot, CallStage.VERDICT)
        await keys.press("a")
        screen = await stage(pilot, CallStage.ADD)
        ids = [o.id for o in screen.query_one("#call-list").options]  # type: ignore[attr-defined]
        assert str(ESCALATED) in ids
        await keys.press(str(ids.index(str(ESCALATED)) + 1))
        await stage(pilot, CallStage.NOTES)
        await keys.type("Still bouncing")
        await keys.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TicketScreen), what="the ticket")
    call = [e for e in tickets.show(cf.fx.desk_at(), ESCALATED).events if e.kind == "call"][-1]
    assert (call.author, call.body) == ("ana", "Still bouncing")


# -- item 9: the card's incident countdown ticks with the banner -----------------------------
@sync
async def test_a_card_that_lands_after_the_stage_changed_brings_its_incident_key(
    outage_fx: DeskFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a slow machine the account's card (acme, hit by web-14's outage) can land after
    Enter moved the call to its contacts: the footer must then offer "i Incident". The
    card's arrival did not refresh the keys, and the footer went on without it (a loaded
    CI run waited 15 s for it in the toast-burst picture)."""
    from supportdesk.console.screens.call.search import CardLoaded
    from supportdesk.console.widgets.key_footer import KeyFooter
    from supportdesk.services.callers import lookup

    app = SupportDeskApp(outage_fx.desk)
    async with app.run_test(size=(160, 48)) as pilot:
        await console_ready(pilot)
        screen = await searched(pilot, "acme", "acme")
        await pilot.press("enter")
        await stage(pilot, CallStage.CONTACT)
        await workers_done(app)
        footer = screen.query_one(KeyFooter)

        def offered() -> bool:
            shown = [k.action for k in footer.query("FooterKey")]
            return footer.shows_current_keys() and "incident_call" in shown

        await until(pilot, offered, what="the incident key with the card")
        card = screen.card
        assert card is not None and card.incidents
        # the card not read yet, as on a slow machine: no read of it lands meanwhile (a
        # change elsewhere, a highlight's delayed read) but the one this test delivers
        monkeypatch.setattr(screen, "load_card", lambda account_id: None)
        screen.card = None
        screen.refresh_bindings()
        await until(pilot, lambda: footer.shows_current_keys() and not offered(), what="no key")
        screen.post_message(CardLoaded(lookup.call_card(outage_fx.desk, "acme")))
        await until(pilot, offered, 3, "the incident key once the card landed")


@sync
async def test_the_cards_incident_countdown_ticks_with_the_banner(outage_fx: DeskFixture) -> None:
    from supportdesk.console.widgets.account_card import AccountCard

    desk = outage_fx.desk
    app = SupportDeskApp(desk)
    async with app.run_test(size=(160, 48)) as pilot:
        await console_ready(pilot)
        screen = await searched(pilot, "acme", "acme")
        card = screen.query_one(AccountCard)

        def shown() -> str:
            return str(card.query_one(Static).render())

        def banner() -> str:
            return str(screen.query_one(IncidentBanner).render())

        await until(pilot, lambda: "update in 0:20:00" in shown(), what="the card's countdown")
        assert "update in 0:20:00" in banner()
        await workers_done(app)  # every read of the card landed: from here, no read
        await pilot.pause(0.3)
        await workers_done(app)
        desk.clock.frozen_at = NOW + timedelta(minutes=1, seconds=5)  # time goes on
        await until(pilot, lambda: "update in 0:18:55" in banner(), what="the banner ticks")
        await pilot.pause(1.1)  # one tick of the card's own (no read of the desk needed)
        assert "update in 0:18:55" in shown()


# -- item 10: type-ahead at a headset agent's pace lands as typed ----------------------------
KEY_GAP_S = 0.05  # about 50 ms a key


NAMED = {" ": "space", "-": "minus", "@": "at", ".": "full_stop"}
CONTROL = {"enter": "\r", "escape": "\x1b", "ctrl+k": "\x0b"}


async def type_ahead(pilot: Pilot[Any], *keys: str) -> None:
    """Each key 50 ms after the one before, as the terminal delivers them: straight into
    the app's queue, whatever the screen is still doing (`Pilot.press` would wait for the
    app, and the searches in threads, to go idle after every key)."""
    app = pilot.app
    for key in keys:
        if len(key) == 1:
            event = events.Key(NAMED.get(key, key), key)
        else:
            event = events.Key(key, CONTROL.get(key))
        app.post_message(event)
        await asyncio.sleep(KEY_GAP_S)


@sync
async def test_type_ahead_at_50_ms_a_key_lands_as_typed(call_fx: CallFixture) -> None:
    """`acme`, Enter, `1`, the PIN, Enter, `n`, a subject, Enter, typed without waiting
    for any result: the account, the contact, the verdict and the ticket, as typed."""
    cf = call_fx
    app = SupportDeskApp(cf.desk)
    async with app.run_test(size=(120, 36)) as pilot:
        await console_ready(pilot)
        await type_ahead(pilot, "ctrl+k", *"acme", "enter", "1", "enter", *cf.pins[JANE], "enter")
        await type_ahead(pilot, "n", *"Site down after upgrade", "enter")
        await until(pilot, lambda: isinstance(app.screen, TicketScreen), what="the ticket")
        ticket = app.screen
        assert isinstance(ticket, TicketScreen)
        view = tickets.show(cf.fx.desk_at(), ticket.ticket_id)
        assert (view.account, view.contact, view.subject) == (
            "acme",
            "Jane Doe",
            "Site down after upgrade",
        )


@sync
async def test_keys_right_after_n_land_in_the_new_tickets_subject(call_fx: CallFixture) -> None:
    """`n` and the subject's first letters read in one go (a loaded machine reads the keys
    typed at 50 ms in bursts): the letters wait until the form has the focus, none lost."""
    cf = call_fx
    app = SupportDeskApp(cf.desk)
    async with app.run_test(size=(120, 36)) as pilot:
        await console_ready(pilot)
        await type_ahead(pilot, "ctrl+k", *"acme", "enter", "1", "enter", *cf.pins[JANE], "enter")
        screen = await stage(pilot, CallStage.VERDICT)
        for key in ("n", *"Site"):  # one burst: no key waits for the one before
            app.post_message(events.Key(NAMED.get(key, key), key))
        subject = screen.query_one("#call-subject", Input)
        await until(pilot, lambda: subject.value == "Site", what=f"the subject ({subject.value!r})")
        assert screen.stage == CallStage.NEW


@sync
async def test_type_ahead_enter_then_a_digit_picks_the_contact(call_fx: CallFixture) -> None:
    """The issue's own keys: the account's name, Enter, `1` (and Enter: a digit on the
    contacts only highlights) at once: the contact is picked and the search box keeps
    exactly what was typed."""
    app = SupportDeskApp(call_fx.desk)
    async with app.run_test(size=(120, 36)) as pilot:
        await console_ready(pilot)
        for _ in range(3):
            await type_ahead(pilot, "ctrl+k", *"acme", "enter", "1", "enter")
            screen = await stage(pilot, CallStage.PROOF)
            assert screen.query_one("#call-search", Input).value == "acme"
            contact = screen.caller.contact if screen.caller else None
            assert contact is not None and contact.name == "Jane Doe"
            await type_ahead(pilot, "escape", "escape", "escape")
            await until(pilot, lambda: not isinstance(app.screen, CallScreen), what="closed")


# -- item 11: what callers say; digits that never act by accident; every key in help -----------
async def search_and_pick(pilot: Pilot[Any], text: str, account: str) -> CallScreen:
    await pilot.press("ctrl+k")
    await stage(pilot, CallStage.SEARCH)
    await pilot.press(*text)
    await results(pilot, account)
    await pilot.press("enter")
    return await contacts_listed(pilot, account)


@sync
async def test_a_digit_on_the_contacts_only_highlights(call_fx: CallFixture) -> None:
    """`2` (Sam: no PIN) does not start a callback at once: Enter does."""
    app = SupportDeskApp(call_fx.desk)
    async with app.run_test(size=(120, 36)) as pilot:
        await console_ready(pilot)
        screen = await search_and_pick(pilot, "acme", "acme")
        await pilot.press("2")
        await pilot.pause(0.2)
        assert screen.stage == CallStage.CONTACT and screen.caller is None
        assert screen.query_one("#call-list", OptionList).highlighted == 1
        await pilot.press("0")  # "not listed" highlighted: no held report yet
        await pilot.pause(0.2)
        assert screen.stage == CallStage.CONTACT and screen.verdict is None
        await pilot.press("2", "enter")
        await stage(pilot, CallStage.CALLBACK)
        assert screen.caller is not None and screen.caller.contact is not None
        assert screen.caller.contact.name == "Sam Okoro"


@sync
async def test_a_card_read_again_keeps_the_contact_the_agent_moved_to(
    call_fx: CallFixture,
) -> None:
    """The card is read again whenever the store changes (another agent's work): the list of
    contacts is rebuilt from it, and the highlight stays on Sam, where `2` moved it."""
    app = SupportDeskApp(call_fx.desk)
    async with app.run_test(size=(120, 36)) as pilot:
        await console_ready(pilot)
        screen = await search_and_pick(pilot, "acme", "acme")
        listing = screen.query_one("#call-list", OptionList)
        await pilot.press("2")
        await until(pilot, lambda: listing.highlighted == 1, what="Sam highlighted")
        sam = listing.get_option_at_index(1).id
        card = screen.card
        screen.reload()  # what a change in the store makes the call screen do
        await until(pilot, lambda: screen.card is not card, what="the card read again")
        assert listing.highlighted == 1 and listing.get_option_at_index(1).id == sam
        await pilot.press("enter")
        await stage(pilot, CallStage.CALLBACK)
        assert screen.caller is not None and screen.caller.contact is not None
        assert screen.caller.contact.name == "Sam Okoro"


@sync
async def test_an_e_mail_preselects_its_contact(call_fx: CallFixture) -> None:
    app = SupportDeskApp(call_fx.desk)
    async with app.run_test(size=(120, 36)) as pilot:
        await console_ready(pilot)
        screen = await search_and_pick(pilot, "ava@acme", "acme")
        listing = screen.query_one("#call-list", OptionList)
        assert listing.highlighted is not None
        assert listing.get_option_at_index(listing.highlighted).id is not None
        await pilot.press("enter")  # the contact found by their e-mail: Ava
        await stage(pilot, CallStage.PROOF)
        assert screen.caller is not None and screen.caller.contact is not None
        assert screen.caller.contact.name == "Ava Reyes"


@sync
async def test_after_a_failed_pin_the_digits_typed_are_the_pin_again(call_fx: CallFixture) -> None:
    cf = call_fx
    pin = cf.pins[JANE]
    bad = "0" * len(pin) if pin != "0" * len(pin) else "1" * len(pin)
    app = SupportDeskApp(cf.desk)
    async with app.run_test(size=(120, 36)) as pilot:
        await console_ready(pilot)
        await search_and_pick(pilot, "acme", "acme")
        await pilot.press("1", "enter")
        await stage(pilot, CallStage.PROOF)
        await pilot.press(*bad, "enter")
        screen = await stage(pilot, CallStage.VERDICT)
        assert screen.verdict is not None and screen.verdict.state == FAILED
        await pilot.press(*pin, "enter")  # straight on: the PIN again, not dropped
        screen = await stage(pilot, CallStage.VERDICT)
        assert screen.verdict is not None and screen.verdict.state == VERIFIED


@sync
async def test_the_call_screens_help_lists_all_its_keys(call_fx: CallFixture) -> None:
    app = SupportDeskApp(call_fx.desk)
    async with app.run_test(size=(120, 36)) as pilot:
        await console_ready(pilot)
        await pilot.press("ctrl+k")
        await stage(pilot, CallStage.SEARCH)
        await pilot.press("f1")  # even while the search box has the focus
        await until(pilot, lambda: isinstance(app.screen, HelpModal), what="help")
        modal = app.screen
        assert isinstance(modal, HelpModal)
        described = {r.description: r.keys for r in modal.rows}
        for what in ("Choose from the list", "Not listed", "Call back", "PIN", "They answered",
                     "No answer", "New ticket", "Add to a ticket", "Incident", "Back"):  # fmt: skip
            assert what in described, (what, described)
        assert described["Choose from the list"] == "1 2 3 4 5 6 7 8 9"


# -- item 6: confirming a held ticket keeps who reported it -------------------------------------
@sync
async def test_a_confirmed_ticket_still_shows_who_reported_it(call_fx: CallFixture) -> None:
    import html
    import re

    from supportdesk.services.callers import verification

    cf = call_fx
    desk = cf.fx.desk_at()
    held = verification.verify(desk, "acme", None, "phone")
    tid = tickets.create(desk, account="acme", subject="Shop down", priority="high",
                         category="technical", channel="phone",
                         verification_id=held.verification_id, caller_name="Pat Caller",
                         caller_phone="+44 20 7946 0999")  # fmt: skip
    jane = verification.verify(desk, "acme", JANE, "phone", pin=cf.pins[JANE])
    assert jane.verification_id is not None
    tickets.confirm(desk, tid, jane.verification_id)
    app = SupportDeskApp(cf.desk)
    async with app.run_test(size=(160, 48)) as pilot:
        await console_ready(pilot)
        app.open_ticket(tid)
        await open_ticket_screen(pilot, app, tid)
        await workers_done(app)
        await pilot.pause(0.2)
        svg = app.export_screenshot()
        shown = html.unescape(" ".join(re.findall(r">([^<>]+)</text>", svg))).replace("\xa0", " ")
        assert "Opened via phone · Pat Caller" in shown
        assert "Pat Caller · +44 20 7946 0999" in shown
        assert "Opened via phone · Jane Doe" not in shown
