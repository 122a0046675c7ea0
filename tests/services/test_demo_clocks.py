"""The demo's fast SLA columns for resolved tickets (demo.clocks.stopped_columns) give exactly
what `rules.sla_engine.from_history` gives (demo.clocks.reference_columns), on every ticket
of generated demos (each shipped policy, both time formats) and on random outlines."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from supportdesk.core.policy import PRESETS_DIR, load_preset, preset_names
from supportdesk.demo.clocks import parse_time, reference_columns, stopped_columns, to_ms
from supportdesk.demo.generate import Generator, Times
from supportdesk.demo.rows import DAY, HELD_BY, HELD_STATUSES, HOUR, MIN
from supportdesk.demo.staff import DEMO_STAFF
from supportdesk.rules.sla_engine import to_us

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
STAFF = [
    (i + 2, m.login, m.tier, m.role, m.name.split()[0], m.name) for i, m in enumerate(DEMO_STAFF)
]


def _generate(policy: str, sqlite: bool, seed: int, tickets: int) -> Counter[str]:
    """Make every chunk of a demo, checking each ticket's columns against the reference
    computed the way the generator did before the fast path (from the stored text of the
    response and resolution times); how many tickets took each path."""
    gen = Generator(
        seed,
        NOW,
        tickets,
        sqlite,
        chunk_size=500,
        policy_text=(PRESETS_DIR / f"{policy}.toml").read_text(),
    )
    gen.directory(max(20, tickets // 10))
    gen.prepare(STAFF)
    maker = gen.maker
    fast = maker.clocks
    paths: Counter[str] = Counter()

    def checked(
        plan_name: str,
        rank: int,
        status: str,
        code: str | None,
        t0: int,
        first_us: int | None,
        resolved_us: int | None,
        last_at: int,
    ) -> tuple[Any, ...]:
        got = fast(plan_name, rank, status, code, t0, first_us, resolved_us, last_at)
        plan, targets = maker.plan_targets(plan_name, rank)
        held = HELD_BY.get(code or "") or (status if status in HELD_STATUSES else None)
        stored = [None if us is None else gen.ts(us) for us in (first_us, resolved_us)]
        want = reference_columns(
            plan.name, plan.calendar, targets, gen.ts, status=status, held=held, created=t0,
            first_response=parse_time(stored[0]), resolved=parse_time(stored[1]),
            last_activity=last_at,
        )  # fmt: skip
        assert got == want, (plan_name, rank, status, code, t0, first_us, resolved_us)
        paths["stopped" if resolved_us is not None else "live"] += 1
        paths[f"respond {got[2]}"] += 1
        paths[f"resolve {got[9]}"] += 1
        return got

    maker.clocks = checked  # type: ignore[method-assign]
    rows = 0
    for number in range(gen.n_chunks):
        rows += len(gen.chunk(number)[0])
    assert rows == tickets and paths["stopped"] + paths["live"] == tickets
    return paths


@pytest.mark.parametrize("policy", preset_names())
def test_every_generated_ticket_matches_from_history(policy: str) -> None:
    paths = _generate(policy, sqlite=True, seed=7, tickets=6000)
    assert paths["stopped"] > 3000 and paths["live"] > 500  # both paths, many times each
    assert paths["respond met"] and (paths["resolve met"] or paths["resolve none"])
    if policy == "demo":  # the demo's own policy: every outcome of both clocks
        for outcome in ("met", "breached", "running"):
            assert paths[f"respond {outcome}"] and paths[f"resolve {outcome}"], outcome
        assert paths["resolve paused"]


@pytest.mark.parametrize("seed", [1, 2])
def test_datetime_times_match_too(seed: int) -> None:
    """The generator's PostgreSQL mode (datetimes instead of SQLite text) for small demos."""
    paths = _generate("demo", sqlite=False, seed=seed, tickets=3000)
    assert paths["stopped"] > 1500


def test_random_outlines_match_from_history() -> None:
    """Outlines the generator seldom or never makes: responses before or after a hold,
    scheduled tickets, untracked and best-effort clocks, times across years and DST."""
    rng = random.Random(5)
    ts = Times(True, to_us(NOW) - 900 * DAY, 960).text
    tested = Counter[str]()
    for name in preset_names():
        policy = load_preset(name)
        for plan in policy.plans.values():
            for _ in range(400):
                respond, resolve = (
                    (rng.choice([None, rng.randrange(60, 3 * 86400)]), rng.random() < 0.85)
                    for _clock in range(2)
                )
                targets = (respond, resolve)
                created = to_us(NOW) - rng.randrange(0, 800 * DAY)
                first = to_ms(created + rng.randrange(0, 20 * DAY)) if rng.random() < 0.8 else None
                resolved = to_ms(created + rng.randrange(0, 40 * DAY))
                held = rng.choice([None, None, *HELD_BY.values(), *HELD_STATUSES])
                status = rng.choice(["resolved", "closed", "scheduled"])
                last = created + rng.randrange(-HOUR, 45 * DAY + MIN)
                args: dict[str, Any] = {
                    "status": status, "held": held, "created": created,
                    "first_response": first, "resolved": resolved, "last_activity": last,
                }  # fmt: skip
                got = stopped_columns(plan.name, plan.calendar, targets, ts, **args)
                want = reference_columns(plan.name, plan.calendar, targets, ts, **args)
                assert got == want, (name, plan.name, targets, args)
                tested[got[9]] += 1
    assert {"met", "breached", "none"} <= set(tested)
