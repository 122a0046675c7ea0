"""What a request-type suggestion costs on the write path of every new ticket (issue 19).

Usage: python benchmarks/bench_request_words.py
Prints the time per `suggest` for a subject alone, a subject with a typical mail body, and a
1 MB body (read up to its first TEXT_LIMIT characters), with the default keywords. Target: a
small share of a ticket's write (a few ms on these machines): under 1 ms for the first two,
under 10 ms for the largest.
"""

from __future__ import annotations

import time

from supportdesk.rules.request_words import DEFAULT, TEXT_LIMIT

SUBJECT = "Lost admin password for the control panel"
BODY = (
    "Hello,\n\nsince this morning none of us can log in to the control panel. We tried the "
    "reset link but it never arrives. Our invoice is paid. Please help.\n\nRegards,\nAva\n"
) * 4
HUGE = ("lorem ipsum dolor sit amet consectetur " * 30_000)[:1_000_000]


def per_call(texts: tuple[str, ...], runs: int) -> float:
    DEFAULT.suggest(*texts)  # keywords prepared once per policy
    start = time.perf_counter()
    for _ in range(runs):
        DEFAULT.suggest(*texts)
    return (time.perf_counter() - start) / runs


def main() -> None:
    rows = [
        ("subject only", (SUBJECT,), 20_000),
        (f"subject and a {len(BODY)}-character body", (SUBJECT, BODY), 5_000),
        (f"1 MB body (first {TEXT_LIMIT:,} characters read)", (SUBJECT, HUGE), 200),
    ]
    print(f"{'suggest':<48} {'per call':>10}")
    for label, texts, runs in rows:
        print(f"{label:<48} {per_call(texts, runs) * 1e6:>8.0f} µs")


if __name__ == "__main__":
    main()
