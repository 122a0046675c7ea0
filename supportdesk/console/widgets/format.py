"""Pure text helpers for the console: short ages, word-boundary truncation, priority labels.

Kept free of widgets so the queue table, the preview and the ticket screen format alike and
tests can check them without an app.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

from rich.text import Text

from supportdesk.rules.local_time import times_in_text
from supportdesk.safe_text import clean, one_line, truncate

PRIORITY_STYLE = {
    "critical": "bold #ff5f5f",
    "high": "bold #ffaf00",
    "medium": "#5fafff",
    "low": "#8a8a8a",
}
PRIORITY_BADGE = {
    "critical": "bold #ffffff on #d70000",
    "high": "bold #000000 on #ffaf00",
    "medium": "bold #000000 on #5fafff",
    "low": "#000000 on #8a8a8a",
}
_shown_in: list[tzinfo | None] = [None]  # the desk's zone, once the app has read it


def show_times_in(zone: tzinfo | None) -> None:
    """Every time the console shows is in `zone` from now on: the desk's one zone (its
    abbreviation is in every screen's header). None: the machine's zone."""
    _shown_in[0] = zone


def local(at: datetime) -> datetime:
    """`at` as the desk's zone reads it (see `show_times_in`)."""
    return at.astimezone(_shown_in[0])


def times_in(text: str) -> str:
    """`text` with its ISO 8601 times in the desk's zone ("2026-11-25 12:00 SAST")."""
    zone = _shown_in[0] or local(datetime.now(UTC)).tzinfo or UTC
    return times_in_text(text, zone)


SPEAKER_SHORT = {"customer": "cust", "staff": "staff"}
CHANNEL_LABEL = {"email": "e-mail", "phone": "phone", "chat": "chat", "portal": "portal"}


def span(delta: timedelta) -> str:
    """A compact span ("5m", "3h", "2d", "15w", "3y": never more than three digits) for
    tight cells; the future reads as "0m"."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 48 * 3600:
        return f"{seconds // 3600}h"
    days = seconds // 86400
    if days < 100:
        return f"{days}d"
    if days < 365:
        return f"{days // 7}w"  # old tickets (an imported history) fit the age column too
    return f"{days // 365}y"


def age(created_at: datetime, now: datetime) -> str:
    """The queue's age column: "now", "12 m", "3 h", "2 d" (hours until two days), "15 w",
    "3 y"."""
    seconds = max(0, int((now - created_at).total_seconds()))
    if seconds < 60:
        return "now"
    short = span(now - created_at)
    return f"{short[:-1]} {short[-1]}"


def ago(at: datetime, now: datetime) -> str:
    """A readable relative time for the ticket screen: "just now", "5 min ago", "3 h ago"."""
    seconds = int((now - at).total_seconds())
    if seconds < 0:
        return "in the future"
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 48 * 3600:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def last_spoke(speaker: str, at: datetime, now: datetime) -> str:
    """Who spoke last and how long ago, e.g. "cust 5m": the column a support person scans."""
    return f"{SPEAKER_SHORT.get(speaker, speaker[:5])} {span(now - at)}"


def stamp(at: datetime | None, now: datetime) -> str:
    """An absolute time in the desk's zone plus the relative one; a dash when unset."""
    if at is None:
        return "—"
    there, today = local(at), local(now).date()
    if there.date() == today:
        fmt = "%H:%M"
    elif there.year == today.year or abs((there.date() - today).days) < 180:
        fmt = "%d %b %H:%M"
    else:
        fmt = "%d %b %Y %H:%M"  # an old ticket (an imported history): the year matters
    return f"{there.strftime(fmt)} ({ago(at, now)})"


def cell(text: object, width: int | None = None, style: str = "") -> Text:
    """A one-line cell of outside text (cut to `width` when given): a Text, never markup."""
    plain = one_line(text) if width is None else truncate(str(text or ""), width)
    return Text(plain, style=style, end="")


def priority_text(priority: str, *, word: bool) -> Text:
    """The priority as a coloured capital letter, followed by the word when there is room."""
    style = PRIORITY_STYLE.get(priority, "")
    text = Text(clean(priority[:1].upper()), style=style)
    if word:
        text.append(f" {clean(priority)}", style=style.replace("bold ", ""))
    return text


def priority_badge(priority: str) -> Text:
    """A reverse-video priority chip for the ticket screen header."""
    return Text(f" {clean(priority.upper())} ", style=PRIORITY_BADGE.get(priority, "reverse"))
