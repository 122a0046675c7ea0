"""A fresh PostgreSQL schema for one benchmark run, dropped afterwards (shared by the
benchmarks that measure both databases)."""

from __future__ import annotations

import os
import uuid

PG_URL = os.environ.get("SUPPORTDESK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pg_schema(url: str) -> tuple[str | None, str]:
    """A fresh schema (its URL) or None and why PostgreSQL cannot be used."""
    try:
        import psycopg

        schema = "bench_" + uuid.uuid4().hex[:10]
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True, connect_timeout=3) as c:
            c.execute(f"CREATE SCHEMA {schema}")
        return f"{url}?options=-csearch_path%3D{schema}", schema
    except Exception as exc:
        return None, f"PostgreSQL not reachable at {url}: {str(exc).splitlines()[0]}"


def drop_schema(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as c:
        c.execute(f"DROP SCHEMA {schema} CASCADE")
