"""The demo's texts: people, accounts and request templates from `data/demo/*.toml`,
turned into weighted tables and pre-rendered `%`-style variants (formatting a million
tickets' texts in C is what keeps them affordable)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from supportdesk.resources import data_path

from .rows import PRIORITY_NAMES

if TYPE_CHECKING:  # the generator uses these texts
    from .generate import Generator


@dataclass(frozen=True)
class _Template:
    """One kind of request from tickets.toml."""

    category: str
    request: str
    priority_rank: int
    tier: int
    service: tuple[str, ...]
    subject: str
    description: str
    fix: str
    ask: str | None


@dataclass(frozen=True)
class _Fixtures:
    people: dict[str, Any]
    accounts: dict[str, Any]
    templates: tuple[_Template, ...]
    weights: tuple[int, ...]
    thread: dict[str, Any]


@lru_cache(maxsize=1)
def demo_texts() -> _Fixtures:
    """The demo texts, read once per process (they ship in `data/demo/`)."""

    def load(name: str) -> dict[str, Any]:
        with data_path("demo", name).open("rb") as fh:
            return tomllib.load(fh)

    tickets = load("tickets.toml")
    templates = tuple(
        _Template(
            category=t["category"],
            request=t["request"],
            priority_rank=PRIORITY_NAMES.index(t["priority"]),
            tier=int(t["tier"]),
            service=tuple(t["service"]),
            subject=t["subject"],
            description=t["description"],
            fix=t["fix"],
            ask=t.get("ask"),
        )
        for t in tickets["template"]
    )
    weights = tuple(int(t.get("weight", 1)) for t in tickets["template"])
    return _Fixtures(
        load("people.toml"), load("accounts.toml"), templates, weights, tickets["thread"]
    )


def weighted_table(pairs: Sequence[tuple[Any, int]]) -> list[Any]:
    """A list in which each value appears `weight` times, so that a weighted choice costs
    one random number: `t[int(random() * len(t))]`."""
    out: list[Any] = []
    for value, weight in pairs:
        out.extend([value] * weight)
    return out


# Slots filled per ticket (from the account, the caller and the time); every other slot of a
# template is filled once per pre-rendered variant.
TICKET_SLOTS = frozenset(
    {
        "account", "domain", "server", "mx", "first", "plan", "time", "earlier", "date",
        "day", "dbname", "tier", "when", "other",
    }
)  # fmt: skip
VARIANTS = 128  # pre-rendered variants per template


def percent_style(text: str) -> str:
    """A `{slot}` text as a `%(slot)s` one: `text % slots` formats it in C, which is what
    keeps a million tickets' texts affordable."""
    return re.sub(r"\{(\w+)\}", r"%(\1)s", text.replace("%", "%%"))


class VariantSlots(dict[str, str]):
    """Fills a template's one-off slots (invoice number, IP, ...) with fresh values and
    leaves the per-ticket ones as `%(slot)s` for later."""

    def __init__(self, gen: Generator) -> None:
        super().__init__()
        self.gen = gen

    def __missing__(self, key: str) -> str:
        if key in TICKET_SLOTS:
            value = f"%({key})s"
        elif key == "mailbox":
            box = ("info", "accounts", "orders", "sales", "office", "admin")
            value = f"{box[self.gen.rng.randrange(len(box))]}@%(domain)s"
        elif key == "db":
            value = f"%(dbname)s_{('wp', 'shop', 'app', 'crm')[self.gen.rng.randrange(4)]}"
        else:
            value = self.gen.one_off(key)
        self[key] = value
        return value


@dataclass(frozen=True)
class Variant:
    """One pre-rendered request: `%`-style texts that need only the per-ticket slots."""

    subject: str
    description: str
    fix: str
    ask: str | None
