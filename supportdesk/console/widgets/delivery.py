"""What became of the mail a ticket sent (issue 18, item 5): one line under each reply (queued,
sending, sent, deferred, failed, withdrawn), automatic messages as lines of the thread, and
the lead's mail alarm. The mail server's words are outside text: cleaned, on one line."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from supportdesk.console.widgets.format import local, one_line, span, stamp
from supportdesk.core.views import DeliveryView, MailAlarmView

KIND_LABEL = {
    "reply": "Reply",
    "acknowledgement": "Acknowledgement",
    "confirmation": "Confirmation request",
    "incident_update": "Incident update",
    "maintenance_notice": "Maintenance notice",
}
STATE_STYLE = {
    "queued": "#87afd7",
    "sending": "#87afd7",
    "sent": "#87d787",
    "deferred": "bold #ffaf00",
    "failed": "bold #ff5f5f",
    "withdrawn": "#8a8a8a",
}
WORDS_SHOWN = 120  # characters of the server's answer shown in a line


def delivery_key(d: DeliveryView) -> tuple[object, ...]:
    """What a delivery line shows (a change redraws it)."""
    return (d.state, d.attempts, d.send_after, d.sent_at, d.failed_at, d.last_error, d.redacted)


def upcoming(at: datetime, now: datetime) -> str:
    """A time still to come: "09:12 (in 12m)"; "now" once it is due."""
    if at <= now:
        return "now"
    fmt = "%H:%M" if local(at).date() == local(now).date() else "%d %b %H:%M"
    return f"{local(at).strftime(fmt)} (in {span(at - now)})"


def _server(words: str | None) -> str:
    return one_line(words or "")[:WORDS_SHOWN]


def delivery_line(d: DeliveryView, now: datetime) -> Text:
    """ "✓ sent 10:02 (3 min ago) to a@example.com · 250 2.0.0 Ok", "✗ not delivered to
    a@example.com: 550 5.1.1 no such user", "⟳ deferred: 451 greylisted · next try 10:20"."""
    to = one_line(d.to_addr)
    style = STATE_STYLE.get(d.state, "")
    line = Text()
    if d.state == "sent":
        line.append(f"✓ sent {stamp(d.sent_at, now)} to {to}", style=style)
        if d.server_reply:
            line.append(f" · {_server(d.server_reply)}", style="dim")
    elif d.state == "failed":
        line.append(f"✗ not delivered to {to}: ", style=style)
        line.append(_server(d.last_error) or "failed", style=style)
    elif d.state == "deferred":
        line.append("⟳ deferred: ", style=style)
        line.append(_server(d.last_error) or "the server asked to try later")
        tries = f"{d.attempts} {'try' if d.attempts == 1 else 'tries'}"
        line.append(f" · next try {upcoming(d.send_after, now)} · {tries} · to {to}", style="dim")
    elif d.state == "sending":
        line.append(f"… sending to {to}", style=style)
    elif d.state == "withdrawn":
        line.append("– withdrawn: not sent", style=style)
    else:  # queued
        line.append(f"✉ queued for {to}", style=style)
        if d.send_after > now:
            line.append(f" · goes out {upcoming(d.send_after, now)}", style="dim")
    if d.redacted:
        line.append(" · body redacted", style="italic dim")
    return line


def automatic_header(d: DeliveryView) -> str:
    """The thread's header of an automatic message: "Acknowledgement e-mailed · automatic"."""
    return f"{KIND_LABEL.get(d.kind, d.kind.replace('_', ' '))} by e-mail · automatic"


def alarm_text(alarm: MailAlarmView, now: datetime) -> Text:
    """ "Mail is not going out since 10:02: 535 authentication failed — 14 messages
    waiting", for the top of the lead's board."""
    waiting = f"{alarm.waiting} message{'' if alarm.waiting == 1 else 's'} waiting"
    return Text.assemble(
        (" ✉ MAIL ", "bold #ffffff on #d70000"),
        (f" Mail is not going out since {stamp(alarm.raised_at, now)}: ", "bold #ff5f5f"),
        (_server(alarm.reason), "bold"),
        (f" — {waiting}", "bold #ff5f5f"),
    )
