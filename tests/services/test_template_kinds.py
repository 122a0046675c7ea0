"""The desk's automatic messages from a lead's template of their kind (issue 20, item 1), on
SQLite and PostgreSQL: the incident update, the maintenance notice, the referral and the
confirmation request use it with their own placeholders filled, and fall back to the
built-in text when it cannot render. A confirmation template must print the code."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

import pytest

from supportdesk.core.desk import Desk
from supportdesk.core.policy import load_preset
from supportdesk.errors import UsageError
from supportdesk.rules.policy_parse import parse_policy
from supportdesk.services import directory, incidents, sla, templates
from supportdesk.services.incidents import maintenance
from supportdesk.services.intake import mail
from tests.helpers.authmail import held_ticket, sent_code, use_auth_policy
from tests.helpers.desk import new_ticket
from tests.helpers.samples import message


def outbox(desk: Desk, kind: str) -> list[tuple[str, str]]:
    rows = desk.store.query("SELECT subject, body FROM outbox WHERE kind = ? ORDER BY id", (kind,))
    return [(str(s), str(b)) for s, b in rows]


def break_template(desk: Desk, name: str) -> None:
    """A template that no longer renders (as if saved under an older check)."""
    with desk.store.transaction() as tx:
        tx.run("UPDATE templates SET body = ? WHERE name = ?", ("{{ nope.x }}", name))


def incident_update(desk: Desk) -> tuple[int, list[tuple[str, str]]]:
    a = new_ticket(desk, "Site down", contact_email="priya@bluefin.example")
    inc = incidents.open_incident(desk, ["web-cpt-14"], "web-cpt-14 down", cadence="30m")
    incidents.link_ticket(desk, inc.id, a)
    incidents.post_update(desk, inc.id, "A disk failed; we are replacing it.")
    return a, outbox(desk, "incident_update")


def test_an_incident_update_uses_a_leads_template(desk: Desk) -> None:
    templates.add(
        desk,
        "upd",
        "incident_update",
        "News on {{ incident.title }}",
        "Dear {{ contact.first_name }}: {{ incident.update_text }} (#{{ ticket.id }})",
    )
    a, [(subject, body)] = incident_update(desk)
    assert subject == f"News on web-cpt-14 down [#{a}]"
    assert body.startswith(f"Dear Priya: A disk failed; we are replacing it. (#{a})")


def test_an_incident_update_falls_back_when_its_template_fails(desk: Desk) -> None:
    templates.add(desk, "upd", "incident_update", "News", "{{ incident.update_text }}")
    break_template(desk, "upd")
    a, [(subject, body)] = incident_update(desk)
    assert subject == f"Incident update: web-cpt-14 down [#{a}]"
    assert "A disk failed; we are replacing it." in body and "nope" not in body


def window(desk: Desk) -> list[tuple[str, str]]:
    start = desk.now() + timedelta(days=5)
    maintenance.add_window(desk, ["web-cpt-14"], start, start + timedelta(hours=2), "Kernel")
    return outbox(desk, "maintenance_notice")


def test_a_maintenance_notice_uses_a_leads_template(desk: Desk) -> None:
    templates.add(
        desk,
        "mnt",
        "maintenance_notice",
        "Work on {{ window.servers }}",
        "From {{ window.start }} to {{ window.end }} on {{ window.servers }}: {{ window.notice }}.",
    )
    [(subject, body)] = window(desk)
    assert subject == "Work on web-cpt-14"
    assert "Hello Priya Naidoo,\n\nFrom " in body and " on web-cpt-14: Kernel." in body
    assert "{{" not in body and "UTC to " in body


def test_a_maintenance_notice_falls_back_when_its_template_fails(desk: Desk) -> None:
    templates.add(desk, "mnt", "maintenance_notice", "Work", "{{ window.notice }}")
    break_template(desk, "mnt")
    [(subject, body)] = window(desk)
    assert subject.startswith("Scheduled maintenance: ") and "Planned maintenance." in body


ELI = "eli@endco.example"


def referral(desk: Desk) -> list[tuple[str, str]]:
    directory.add_account(desk, "endco", "End Co Bakery", "gold", reseller="bluefin")
    directory.add_contact(desk, "endco", "Eli End", [ELI], ["+27 82 555 0303"], "primary")
    text = load_preset("demo").text
    text = text[: text.index("\n[mail]")] + '\n\n[mail]\ndomain = "desk.example"\n'
    sla.load_policy(desk, parse_policy(text, "mail.toml"))
    assert mail.ingest(desk, message(ELI, "Site down")).action == "closed_referred"
    return outbox(desk, "referral")


def test_a_referral_uses_a_leads_template(desk: Desk) -> None:
    templates.add(
        desk,
        "ref",
        "referral",
        "{{ ticket.subject }}: ask {{ reseller.company }}",
        "Please contact {{ reseller.company }}: {{ reseller.contact }}.",
    )
    [(subject, body)] = referral(desk)
    assert subject == "Re: Site down: ask Bluefin Media"
    assert body.startswith(
        "Please contact Bluefin Media: Priya Naidoo, priya@bluefin.example, +27215550101."
    )


def test_a_referral_falls_back_when_its_template_fails(desk: Desk) -> None:
    templates.add(desk, "ref", "referral", "Ask", "{{ reseller.company }}")
    break_template(desk, "ref")
    [(subject, body)] = referral(desk)
    assert subject == "Re: Site down" and "looked after by Bluefin Media" in body


def test_a_confirmation_template_must_print_the_code(desk: Desk) -> None:
    with pytest.raises(UsageError, match=r"must contain \{\{ code \}\}"):
        templates.add(desk, "conf", "confirmation", "", "Reply yes to #{{ ticket.id }}.")
    templates.add(desk, "conf", "confirmation", "", "Code: {{ code }}")
    with pytest.raises(UsageError, match=r"must contain \{\{ code \}\}"):
        templates.edit(desk, "conf", body="No code here.")
    with pytest.raises(UsageError, match=r"must contain \{\{ code \}\}"):
        templates.add(desk, "r", "reply", "", "{{ ticket.id }}")
        templates.edit(desk, "r", kind="confirmation")


def test_a_confirmation_request_uses_a_leads_template_with_the_code(desk: Desk) -> None:
    templates.add(
        desk,
        "conf",
        "confirmation",
        "Confirm: {{ ticket.subject }}",
        'Hi {{ contact.first_name }}, reply "Yes" with {{ code }} for #{{ ticket.id }}.',
    )
    use_auth_policy(desk)
    tid = held_ticket(desk)
    code = sent_code(desk, tid)
    [(subject, body)] = outbox(desk, "confirmation")
    assert subject == f"Confirm: Reset my password [#{tid}]"
    assert body.startswith(f'Hi Priya, reply "Yes" with {code} for #{tid}.')


def test_a_confirmation_falls_back_when_its_template_fails_or_drops_the_code(
    desk: Desk,
) -> None:
    templates.add(desk, "conf", "confirmation", "", "{% if false %}{{ code }}{% endif %}x")
    use_auth_policy(desk)
    tid = held_ticket(desk)
    code = sent_code(desk, tid)
    [(_, body)] = outbox(desk, "confirmation")
    assert f"Your one-time code: {code}" in body
    break_template(desk, "conf")
    tid = held_ticket(desk, "Reset it again")
    code = sent_code(desk, tid)
    assert f"Your one-time code: {code}" in outbox(desk, "confirmation")[-1][1]


# -- the incident script (issue 20, templates item 1) -------------------------------------
SCRIPT = (
    "#{{ incident.id }} {{ incident.title }} on {{ incident.servers }} since "
    "{{ incident.opened }} ({{ incident.status }}), declared by {{ agent.name }}: [bold]"
    "{{ agent.login }}[/x]"
)


def opened_audit(desk: Desk, incident_id: int) -> dict[str, list[object]]:
    rows = desk.store.query(
        "SELECT changes FROM audit WHERE action = 'incident.open' AND entity_id = ?",
        (str(incident_id),),
    )
    [(changes,)] = rows
    return json.loads(str(changes))  # type: ignore[no-any-return]


def test_an_incident_script_template_fills_the_declared_incidents_script(desk: Desk) -> None:
    templates.add(desk, "script", "incident_script", "", SCRIPT + "\n")
    inc = incidents.open_incident(desk, ["web-cpt-14"], "web-cpt-14 down")
    opened = inc.opened_at.astimezone(desk.zone).strftime("%a %d %b %Y %H:%M %Z")
    name = desk.actor.name
    assert inc.script == (
        f"#{inc.id} web-cpt-14 down on web-cpt-14 since {opened} (investigating), "
        f"declared by {name}: [bold]lena[/x]"
    )
    assert incidents.show(desk, inc.id).incident.script == inc.script  # as stored
    assert opened_audit(desk, inc.id)["script_template"] == [None, "script"]


def test_the_first_incident_script_template_by_name_is_used(desk: Desk) -> None:
    templates.add(desk, "zz-later", "incident_script", "", "Z: {{ incident.title }}")
    templates.add(desk, "aa-first", "incident_script", "", "A: {{ incident.title }}")
    templates.add(desk, "reply", "reply", "", "R: {{ incident.title }}")
    assert incidents.open_incident(desk, ["web-cpt-14"], "down").script == "A: down"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("{{ nope.x }}", "does not render"),  # broken after it was saved
        ("{{ incident.title * 20 }}", "at most 4,000"),  # too long once filled
        ("{% if incident.status == 'x' %}x{% endif %}  \n", "empty"),  # nothing to read
    ],
)
def test_an_incident_script_template_that_fails_falls_back_to_the_built_in_one(
    desk: Desk, body: str, why: str
) -> None:
    templates.add(desk, "script", "incident_script", "", "{{ incident.title }}")
    with desk.store.transaction() as tx:
        tx.run("UPDATE templates SET body = ? WHERE name = 'script'", (body,))
    title = "web-cpt-14 down " + "x" * 250
    before = desk.store.query("SELECT count(*) FROM incidents")[0][0]
    inc = incidents.open_incident(desk, ["web-cpt-14"], title)
    assert inc.script == incidents.default_script(title, ["web-cpt-14"])
    assert desk.store.query("SELECT count(*) FROM incidents")[0][0] == before + 1
    [_, note] = opened_audit(desk, inc.id)["script_template"]
    assert str(note).startswith("script not used (") and why in str(note)


def test_an_explicit_script_wins_over_the_template(desk: Desk) -> None:
    templates.add(desk, "script", "incident_script", "", SCRIPT)
    inc = incidents.open_incident(desk, ["web-cpt-14"], "down", script="  Say: we know.  ")
    assert inc.script == "Say: we know."
    assert "script_template" not in opened_audit(desk, inc.id)


def test_without_a_template_the_built_in_script_is_read(desk: Desk) -> None:
    inc = incidents.open_incident(desk, ["web-cpt-14"], "down")
    assert inc.script == incidents.default_script("down", ["web-cpt-14"])
    assert "script_template" not in opened_audit(desk, inc.id)


def test_an_incident_script_template_must_fit_the_scripts_limit(desk: Desk) -> None:
    with pytest.raises(UsageError, match="an incident script is at most 4,000 characters"):
        templates.add(desk, "long", "incident_script", "", "x" * 4001)
    templates.add(desk, "long", "reply", "", "x" * 4001)  # a reply may be longer
    with pytest.raises(UsageError, match="an incident script is at most 4,000 characters"):
        templates.edit(desk, "long", kind="incident_script")


def test_a_reply_template_names_the_linked_incidents_id_servers_and_opening(desk: Desk) -> None:
    a = new_ticket(desk, "Site down", contact_email="priya@bluefin.example")
    inc = incidents.open_incident(desk, ["web-cpt-14"], "web-cpt-14 down", script="x")
    incidents.link_ticket(desk, inc.id, a)
    templates.add(
        desk,
        "upd",
        "incident_update",
        "",
        "#{{ incident.id }} on {{ incident.servers }} since {{ incident.opened }}: "
        "{{ incident.update_text }} / {{ incident.latest_update }}",
    )
    incidents.post_update(desk, inc.id, "A disk failed.")
    opened = inc.opened_at.astimezone(desk.zone).strftime("%a %d %b %Y %H:%M %Z")
    [(_, body)] = outbox(desk, "incident_update")
    assert body.startswith(
        f"#{inc.id} on web-cpt-14 since {opened}: A disk failed. / A disk failed."
    )


# -- a moved maintenance window's notice (issue 20, templates item 2) ---------------------
MOVED = (
    "{% if window.moved %}{{ window.moved }} It was {{ window.previous_start }} to "
    "{{ window.previous_end }}; now {% else %}Planned: {% endif %}"
    "{{ window.start }} to {{ window.end }}."
)


def moved_window(desk: Desk) -> tuple[list[tuple[str, str]], str, str]:
    start = desk.now() + timedelta(days=5)
    w = maintenance.add_window(desk, ["web-cpt-14"], start, start + timedelta(hours=2), "Kernel")
    first = outbox(desk, "maintenance_notice")
    with desk.store.transaction() as tx:  # told already: the move sends a second notice
        tx.run("UPDATE outbox SET state = 'sent' WHERE kind = 'maintenance_notice'")
    later = start + timedelta(days=1)
    maintenance.move_window(desk, w.id, later, later + timedelta(hours=3))
    fmt = "%a %Y-%m-%d %H:%M UTC"
    old = f"{start.astimezone(UTC):{fmt}} to {(start + timedelta(hours=2)).astimezone(UTC):{fmt}}"
    new = f"{later.astimezone(UTC):{fmt}} to {(later + timedelta(hours=3)).astimezone(UTC):{fmt}}"
    return [*first, *outbox(desk, "maintenance_notice")[len(first) :]], old, new


def test_a_moved_windows_notice_says_so_with_a_template_that_asks(desk: Desk) -> None:
    templates.add(desk, "mnt", "maintenance_notice", "Work", MOVED)
    [(_, announced), (_, moved)], old, new = moved_window(desk)
    assert announced.startswith(f"Hello Priya Naidoo,\n\nPlanned: {old}.\n\n-- \n")
    sentence = f"The maintenance window we announced for {old} has moved."
    assert moved.startswith(f"Hello Priya Naidoo,\n\n{sentence} It was {old}; now {new}.\n\n-- \n")


def test_a_template_without_window_moved_still_renders_for_a_moved_window(desk: Desk) -> None:
    templates.add(desk, "mnt", "maintenance_notice", "Work", "{{ window.start }}: Kernel.")
    [(_, announced), (subject, moved)], old, new = moved_window(desk)
    assert subject == "Work" and "has moved" not in moved  # the lead's words, not the fallback
    assert announced.startswith(f"Hello Priya Naidoo,\n\n{old.split(' to ')[0]}: Kernel.\n")
    assert moved.startswith(f"Hello Priya Naidoo,\n\n{new.split(' to ')[0]}: Kernel.\n\n-- \n")


def test_the_built_in_moved_notice_names_the_old_times(desk: Desk) -> None:
    [(_, announced), (subject, moved)], old, new = moved_window(desk)
    assert announced.startswith("Hello Priya Naidoo,\n\nPlanned maintenance.\n\n")
    assert f"The maintenance window we announced for {old} has moved." in moved
    assert f"From {new} we work on web-cpt-14" in moved and subject.endswith(new)
