"""The desk's automatic messages from a lead's template of their kind (issue 20, item 1), on
SQLite and PostgreSQL: the incident update, the maintenance notice, the referral and the
confirmation request use it with their own placeholders filled, and fall back to the
built-in text when it cannot render. A confirmation template must print the code."""

from __future__ import annotations

from datetime import timedelta

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
