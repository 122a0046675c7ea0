"""Which zone a desk shows its times in: `SUPPORTDESK_TZ` (the person's own), else the
policy's `[desk] timezone`, else the zone of the default plan's calendar (rules/local_time).

Light on purpose: the console's header needs the zone before its first paint, so the policy in
force is read as TOML here and the policy engine (rules/policy*) is not imported."""

from __future__ import annotations

import os
import tomllib
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from supportdesk.resources import data_path
from supportdesk.rules.local_time import TZ_ENV, policy_zone_name, zone_named

if TYPE_CHECKING:
    from supportdesk.store import Store

POLICY_KEY = "sla_policy"  # the settings row that holds the policy in force (core/policy)
DEFAULT_PRESET = "demo"  # in force before a policy is loaded (core/policy)
FALLBACK_ZONE = "UTC"

_zone_of_text: dict[str, str] = {}


def env_zone() -> ZoneInfo | None:
    """The person's zone from SUPPORTDESK_TZ (None when unset); UsageError when unknown."""
    name = os.environ.get(TZ_ENV, "")
    return zone_named(name) if name.strip() else None


def policy_zone(text: str) -> str:
    """The desk zone the policy `text` names (parsed once per distinct text)."""
    name = _zone_of_text.get(text)
    if name is None:
        try:
            name = policy_zone_name(tomllib.loads(text)) or FALLBACK_ZONE
        except tomllib.TOMLDecodeError:
            name = FALLBACK_ZONE
        _zone_of_text[text] = name
    return name


def desk_zone(store: Store) -> ZoneInfo:
    """The zone this desk's times are shown in, for the person running this process."""
    mine = env_zone()
    if mine is not None:
        return mine
    try:
        rows = store.query("SELECT value FROM settings WHERE key = ?", (POLICY_KEY,))
    except Exception:  # no schema yet (`init` on a new file): the default policy's zone
        rows = []
    if rows:
        text = str(rows[0][0])
    else:
        text = (data_path("policies") / f"{DEFAULT_PRESET}.toml").read_text(encoding="utf-8-sig")
    try:
        return ZoneInfo(policy_zone(text))
    except Exception:  # a stored policy was validated: this is belt and braces
        return ZoneInfo(FALLBACK_ZONE)
