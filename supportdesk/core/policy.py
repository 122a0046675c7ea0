"""Policies read from files (a path or a shipped preset) and the policy in force.

The policy (TOML text) lives in the `settings` table under `sla_policy`; every process parses
it once per distinct text. Before one is loaded the bundled `demo` preset is in force.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from supportdesk.core.desk_zone import DEFAULT_PRESET as DEFAULT_PRESET
from supportdesk.core.desk_zone import POLICY_KEY as POLICY_KEY
from supportdesk.errors import UsageError
from supportdesk.resources import data_path
from supportdesk.rules.limits import MAX_POLICY_BYTES, read_bounded
from supportdesk.rules.policy import Policy, PolicyError
from supportdesk.rules.policy_parse import parse_policy

if TYPE_CHECKING:
    from supportdesk.core.desk import Desk

PRESETS_DIR: Path = data_path("policies")

_parsed: dict[str, Policy] = {}


def policy_from_text(text: str, source: str = "sla_policy") -> Policy:
    policy = _parsed.get(text)
    if policy is None:
        policy = parse_policy(text, source)
        _parsed[text] = policy
    return policy


def current_policy(desk: Desk) -> Policy:
    """The policy stored in the database (the bundled default before one is loaded)."""
    rows = desk.store.query("SELECT value FROM settings WHERE key = ?", (POLICY_KEY,))
    if not rows:
        return load_preset(DEFAULT_PRESET)
    return policy_from_text(str(rows[0][0]))


def has_policy(desk: Desk) -> bool:
    return bool(desk.store.query("SELECT 1 FROM settings WHERE key = ?", (POLICY_KEY,)))


def load_policy_file(path: str | Path) -> Policy:
    """Read and parse a policy file; PolicyError "cannot read FILE: ..." when unreadable."""
    source = str(path)
    try:
        raw = read_bounded(path, "policy", MAX_POLICY_BYTES)  # no hang on /dev/zero or a FIFO
    except UsageError as exc:  # "cannot read FILE: why", as every read failure says
        why = str(exc).removeprefix("policy: ")
        if not why.startswith("cannot read"):
            why = f"cannot read {source}: " + why.removeprefix(f"{source} ")
        raise PolicyError(why, source=source) from None
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark, as some editors write, is dropped
    except UnicodeDecodeError as exc:
        raise PolicyError(
            f"cannot read {source}: not UTF-8 (byte {exc.start})", source=source
        ) from None
    return parse_policy(text, source)


def preset_names() -> list[str]:
    """The shipped presets, by name: the stems of `data/policies/*.toml`."""
    return sorted(path.stem for path in PRESETS_DIR.glob("*.toml"))


def load_preset(name: str) -> Policy:
    """A shipped preset by name (see `preset_names`); PolicyError naming them if unknown."""
    names = preset_names()
    if name not in names:
        known = ", ".join(names) or "none"
        raise PolicyError(f"unknown policy preset {name!r} (known: {known})")
    return load_policy_file(PRESETS_DIR / f"{name}.toml")
