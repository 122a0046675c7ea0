"""The build's stage timings: with SUPPORTDESK_DEMO_STAGES=1, one line per stage on stderr
giving its wall seconds and the CPU seconds spent in it by this process, the worker
processes and the build connection's PostgreSQL server process (when the server runs on
this machine and /proc can be read), so that a slow stage on a shared machine can be told
apart from a costly one. Silent otherwise: not noise for users."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ENV = "SUPPORTDESK_DEMO_STAGES"
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def enabled() -> bool:
    return os.environ.get(ENV) == "1"


def process_cpu(pid: int) -> float | None:
    """User plus system CPU seconds of a process of this machine, None when unreadable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / _TICKS


class StageClock:
    """Called with a stage's name when it ends: prints its line (when enabled)."""

    def __init__(self) -> None:
        self.on = enabled()
        self.started = self.last = time.perf_counter()
        self.groups: dict[str, list[int]] = {"py": [os.getpid()], "workers": [], "server": []}
        self.seen: dict[int, float] = {}
        if self.on:
            self._cpu()

    def watch(self, group: str, pids: list[int]) -> None:
        """Count these processes' CPU in `group` from now on ("workers" or "server")."""
        if not self.on:
            return
        for pid in pids:
            if pid not in self.groups[group] and process_cpu(pid) is not None:
                self.groups[group].append(pid)
                self.seen[pid] = process_cpu(pid) or 0.0

    def _cpu(self) -> dict[str, float]:
        """CPU seconds per group since the last call."""
        spent: dict[str, float] = {}
        for group, pids in self.groups.items():
            total = 0.0
            for pid in pids:
                now = process_cpu(pid)
                if now is None:  # a worker that has exited: its last reading stands
                    continue
                total += now - self.seen.get(pid, 0.0)
                self.seen[pid] = now
            spent[group] = total
        return spent

    def __call__(self, name: str) -> None:
        at = time.perf_counter()
        if self.on:
            cpu = self._cpu()
            figures = "  ".join(
                f"{group} {cpu[group]:5.1f}"
                for group in ("py", "workers", "server")
                if self.groups[group]
            )
            print(
                f"  stage {name:<28} {at - self.last:6.1f} s  cpu {figures}",
                file=sys.stderr,
                flush=True,
            )
        self.last = at
