"""The desk a process works on: one store, one acting staff member, one clock, the audit key.

Every service function takes a `Desk` first. Writes go through `Desk.write()`, which enforces
the `--at` rule and hands out the audit recorder for the same transaction.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from supportdesk.core import audit_key
from supportdesk.core.clock import Clock
from supportdesk.core.permissions import Actor
from supportdesk.enums import Role
from supportdesk.errors import NotAllowed, NotFound
from supportdesk.store import Store

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.core import audit
    from supportdesk.store import Transaction


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return str(os.getuid())


def default_login() -> str:
    return os.environ.get("SUPPORTDESK_AGENT") or os_user()


@dataclass
class Recorder:
    """Writes audit rows (and nothing else) inside one write transaction."""

    session: Session
    desk: Desk
    who: audit.Who

    def __call__(
        self, action: str, entity: str, entity_id: str | int, changes: dict[str, Any]
    ) -> None:
        from supportdesk.core import audit

        audit.append(
            self.session,
            self.desk.audit_key,
            self.who,
            action,
            entity,
            entity_id,
            changes,
            frozen_at=self.desk.clock.frozen_at,
        )

    def many(self, entries: list[audit.Entry]) -> None:
        """Several audit rows at once, in order (one read of the chain head)."""
        from supportdesk.core import audit

        audit.append_many(
            self.session, self.desk.audit_key, self.who, entries, self.desk.clock.frozen_at
        )


@dataclass
class PlainRecorder:
    """The `Recorder` of a plain-driver transaction (`Desk.write_plain()`): the same audit
    rows, appended without SQLAlchemy."""

    tx: Transaction
    desk: Desk
    who: audit.Who

    def __call__(
        self, action: str, entity: str, entity_id: str | int, changes: dict[str, Any]
    ) -> None:
        self.many([(action, entity, entity_id, changes)])

    def many(self, entries: list[audit.Entry]) -> None:
        from supportdesk.core import audit

        audit.append_plain(
            self.tx, self.desk.audit_key, self.who, entries, self.desk.clock.frozen_at
        )


class Desk:
    """Services' handle on the world: store, acting login, clock and audit key path."""

    def __init__(
        self,
        store: Store,
        login: str | None = None,
        clock: Clock | None = None,
        audit_key_path: str | Path | None = None,
    ) -> None:
        self.store = store
        self.login = login or default_login()
        self.clock = clock or Clock()
        self.key_path = audit_key.key_path_for(
            store.display_name(), str(audit_key_path) if audit_key_path else None
        )

    def now(self) -> datetime:
        return self.clock.now()

    @cached_property
    def zone(self) -> ZoneInfo:
        """The one zone this desk's times are shown in (core/desk_zone): SUPPORTDESK_TZ, else
        the policy's `[desk] timezone`, else the default plan's calendar zone. Read once per
        process."""
        from supportdesk.core.desk_zone import desk_zone

        return desk_zone(self.store)

    @cached_property
    def audit_key(self) -> bytes:
        return audit_key.load_key(self.key_path)

    @cached_property
    def actor(self) -> Actor:
        rows = self.store.query(
            "SELECT id, login, name, tier, role FROM staff WHERE login = ? AND active",
            (self.login,),
        )
        if not rows:
            raise NotFound(
                f"no staff member {self.login!r}: use --as LOGIN, or ask a lead to run "
                f"`supportdesk staff add {self.login} ...`"
            )
        staff_id, login, name, tier, role = rows[0]
        return Actor(
            staff_id=staff_id,
            login=login,
            name=name,
            tier=tier,
            role=Role(role),
            os_user=os_user(),
            host=socket.gethostname(),
        )

    @property
    def who(self) -> audit.Who:
        from supportdesk.core import audit

        try:
            login = self.actor.login
        except NotFound:
            login = self.login  # only `init` writes before the first staff member exists
        return audit.Who(staff_login=login, os_user=os_user(), host=socket.gethostname())

    @cached_property
    def is_demo(self) -> bool:
        return bool(self.store.query("SELECT 1 FROM settings WHERE key = 'demo'"))

    @contextmanager
    def write(self, *, actor_required: bool = True) -> Iterator[tuple[Session, Recorder]]:
        """A write transaction and its audit recorder; refused under a frozen clock unless
        this is a demo database or the actor is a lead."""
        who = self._may_write(actor_required)
        with self.store.write() as session:
            yield session, Recorder(session, self, who)

    @contextmanager
    def write_plain(
        self, *, actor_required: bool = True
    ) -> Iterator[tuple[Transaction, PlainRecorder]]:
        """`write()` on the plain driver (`Store.transaction()`): the same refusals, locks
        and audit rows, for the hot writes (the claim) that must not wait for SQLAlchemy."""
        who = self._may_write(actor_required)
        with self.store.transaction() as tx:
            yield tx, PlainRecorder(tx, self, who)

    def _may_write(self, actor_required: bool) -> audit.Who:
        """Refuse a write before its transaction opens; who the audit names."""
        if actor_required:
            actor = self.actor
            if self.clock.is_frozen and not (self.is_demo or actor.is_lead):
                raise NotAllowed(
                    "writes under --at are allowed only on a demo database or by a lead"
                )
        self.audit_key  # noqa: B018 - fail before opening the transaction
        return self.who
