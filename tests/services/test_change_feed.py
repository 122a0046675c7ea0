"""The change feed sees every other writer's commit: CLI, another console, plain SQL."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from supportdesk.services import tickets
from tests.helpers.desk import new_ticket


def wait_for(event: threading.Event, seconds: float) -> float | None:
    start = time.monotonic()
    return time.monotonic() - start if event.wait(seconds) else None


def test_feed_fires_for_another_process_and_is_quiet_otherwise(desk, key_path):
    tid = new_ticket(desk)
    seen = threading.Event()
    calls: list[float] = []

    def on_change() -> None:
        calls.append(time.monotonic())
        seen.set()

    feed = desk.store.change_feed(on_change).start()
    try:
        time.sleep(1.0)
        assert calls == []  # nothing changed: no notifications
        url = desk.store.url.render_as_string(hide_password=False)
        code = (
            "from supportdesk.store import Store; from supportdesk.core.desk import Desk;"
            "from supportdesk.services import tickets;"
            f"d = Desk(Store({url!r}), 'lena', audit_key_path={str(key_path)!r});"
            f"tickets.note(d, {tid}, 'from another process')"
        )
        start = time.monotonic()
        subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
        took = wait_for(seen, 5)
        assert took is not None, "the feed never saw the other process's commit"
        limit = 1.0 if desk.store.is_sqlite else 0.5
        assert calls[0] - start < limit + 2.0  # includes the child's start-up
        assert took < limit
    finally:
        feed.stop()


def test_feed_sees_plain_sql_writers(desk):
    tid = new_ticket(desk)
    seen = threading.Event()
    feed = desk.store.change_feed(seen.set).start()
    try:
        time.sleep(0.5)
        if desk.store.is_sqlite:
            import sqlite3

            conn = sqlite3.connect(str(desk.store.url.database), isolation_level=None)
            conn.execute("UPDATE tickets SET subject = 'edited by sqlite3' WHERE id = ?", (tid,))
            conn.close()
        else:
            import psycopg

            dsn = desk.store.url.set(drivername="postgresql").render_as_string(hide_password=False)
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("UPDATE tickets SET subject = 'edited by psql' WHERE id = %s", (tid,))
        assert seen.wait(1.0 if desk.store.is_sqlite else 0.5)
    finally:
        feed.stop()
    tickets.show(desk, tid)


def test_plain_reads_reuse_a_few_connections_across_threads(desk):
    from supportdesk.store import RAW_POOL_SIZE

    new_ticket(desk)
    threads = [
        threading.Thread(target=lambda: desk.store.query("SELECT count(*) FROM tickets"))
        for _ in range(30)
    ]
    for t in threads:
        t.start()
        t.join()
    assert len(desk.store._raw_idle) <= RAW_POOL_SIZE
