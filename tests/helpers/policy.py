"""The SLA policy the service tests load (gold, lite and eu247 plans on an office calendar in
Johannesburg and a round-the-clock one in Amsterdam), and moments in the office's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

JNB = ZoneInfo("Africa/Johannesburg")

POLICY = """
name = "test policy"
default_plan = "gold"

[calendars.office]
timezone = "Africa/Johannesburg"
mon = ["08:00-18:00"]
tue = ["08:00-18:00"]
wed = ["08:00-18:00"]
thu = ["08:00-18:00"]
fri = ["08:00-18:00"]
holidays = ["2026-12-25"]

[calendars.ams]
timezone = "Europe/Amsterdam"
mon = ["00:00-24:00"]
tue = ["00:00-24:00"]
wed = ["00:00-24:00"]
thu = ["00:00-24:00"]
fri = ["00:00-24:00"]
sat = ["00:00-24:00"]
sun = ["00:00-24:00"]

[plans.gold]
calendar = "office"
respond = { critical = "1h", high = "4h", medium = "8h", low = "24h" }
resolve = { critical = "4h", high = "8h", medium = "24h", low = "best_effort" }

[plans.lite]
calendar = "office"
respond = { critical = "4h", high = "8h", medium = "24h", low = "48h" }
resolve = { critical = "none", high = "none", medium = "none", low = "none" }

[plans.eu247]
calendar = "ams"
respond = { critical = "24h", high = "24h", medium = "24h", low = "24h" }
resolve = { critical = "48h", high = "48h", medium = "48h", low = "48h" }
"""


def jnb(*args: int) -> datetime:
    return datetime(*args, tzinfo=JNB).astimezone(UTC)  # type: ignore[misc]
