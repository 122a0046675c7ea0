"""Templates kept by the leads (issue 20): add, list, show, edit, remove; each change audited
in its own transaction. A template is checked when saved: it must render against a context
with every field filled (its syntax, what it uses, its placeholders, the limits)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from supportdesk.core import permissions
from supportdesk.core.desk import Desk
from supportdesk.core.tickets import parse_enum
from supportdesk.core.views import JsonMixin
from supportdesk.enums import Category, Priority, Status, TemplateKind
from supportdesk.errors import NotFound, UsageError
from supportdesk.models import Template
from supportdesk.rules import limits, templating

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
TEXT = ("subject", "body")


@dataclass(frozen=True)
class TemplateView(JsonMixin):
    id: int
    name: str
    kind: str
    subject: str
    body: str
    set_status: str | None
    set_category: str | None
    set_priority: str | None
    updated_at: datetime


def _view(t: Template) -> TemplateView:
    return TemplateView(
        t.id,
        t.name,
        t.kind,
        t.subject,
        t.body,
        t.set_status,
        t.set_category,
        t.set_priority,
        t.updated_at,
    )


def _check_name(name: str) -> None:
    if not NAME_RE.fullmatch(name):
        raise UsageError(
            f"template name {name!r}: lowercase letters, digits, . _ - (at most 64, "
            "starting with a letter or digit)"
        )


def _sets(status: str | None, category: str | None, priority: str | None) -> dict[str, str | None]:
    """The changes a template makes, checked against the vocabularies; "" clears one."""
    out: dict[str, str | None] = {}
    if status is not None:
        out["set_status"] = parse_enum(Status, status, "status").value if status else None
        if out["set_status"] in (Status.NEW.value, Status.CLOSED.value):
            raise UsageError(f"a template cannot set the status {out['set_status']}")
    if category is not None:
        out["set_category"] = parse_enum(Category, category, "category").value if category else None
    if priority is not None:
        out["set_priority"] = parse_enum(Priority, priority, "priority").value if priority else None
    return out


def _audit_fields(values: dict[str, str | None]) -> dict[str, str | None]:
    """What the audit keeps of a template's fields: its text (the desk's own words, not a
    customer's) as a SHA-256, the rest as is."""
    return {
        k: ("sha256:" + hashlib.sha256(v.encode()).hexdigest() if k in TEXT and v else v)
        for k, v in values.items()
    }


def _check_kind(kind: str, body: str) -> None:
    """A confirmation template must print the one-time code: without it the customer could
    not confirm. An incident script must fit the script's limit filled with the sample
    values (longer values may still overflow it: the built-in script is read then)."""
    if kind == TemplateKind.CONFIRMATION.value and not templating.uses(body, "code"):
        raise UsageError("a confirmation template must contain {{ code }} in its body")
    if kind == TemplateKind.INCIDENT_SCRIPT.value:
        filled = templating.render("", body, templating.sample_context()).body.strip()
        if len(filled) > limits.SCRIPT.chars:
            raise UsageError(
                f"an incident script is at most {limits.SCRIPT.chars:,} characters; this "
                f"template fills to {len(filled):,} with sample values"
            )


def add(
    desk: Desk,
    name: str,
    kind: str,
    subject: str,
    body: str,
    *,
    set_status: str | None = None,
    set_category: str | None = None,
    set_priority: str | None = None,
) -> TemplateView:
    permissions.require(desk.actor, "template.manage")
    _check_name(name)
    k = parse_enum(TemplateKind, kind, "kind")
    limits.check(body, limits.BODY, what="template body")
    if not body.strip():
        raise UsageError("a template needs a body")
    templating.check(subject, body)
    _check_kind(k.value, body)
    sets = _sets(set_status, set_category, set_priority)
    with desk.write() as (session, record):
        if session.scalar(select(Template.id).where(Template.name == name)) is not None:
            raise UsageError(f"template {name!r} already exists")
        t = Template(
            name=name,
            kind=k.value,
            subject=subject,
            body=body,
            created_by=desk.actor.staff_id,
            updated_at=desk.now(),
            **sets,
        )
        session.add(t)
        session.flush()
        values = {"name": name, "kind": k.value, "subject": subject, "body": body, **sets}
        record(
            "template.add",
            "template",
            t.id,
            {f: [None, v] for f, v in _audit_fields(values).items()},
        )
        return _view(t)


def _load(session: Session, name: str) -> Template:
    t = session.scalars(select(Template).where(Template.name == name)).first()
    if t is None:
        raise NotFound(f"no template named {name!r}")
    return t


def edit(
    desk: Desk,
    name: str,
    *,
    kind: str | None = None,
    subject: str | None = None,
    body: str | None = None,
    set_status: str | None = None,
    set_category: str | None = None,
    set_priority: str | None = None,
) -> TemplateView:
    permissions.require(desk.actor, "template.manage")
    new: dict[str, str | None] = {}
    if kind is not None:
        new["kind"] = parse_enum(TemplateKind, kind, "kind").value
    if subject is not None:
        new["subject"] = subject
    if body is not None:
        limits.check(body, limits.BODY, what="template body")
        if not body.strip():
            raise UsageError("a template needs a body")
        new["body"] = body
    new.update(_sets(set_status, set_category, set_priority))
    if not new:
        raise UsageError("nothing to change: give --kind, --subject, --body-file or a --set-*")
    with desk.write() as (session, record):
        t = _load(session, name)
        templating.check(str(new.get("subject", t.subject)), str(new.get("body", t.body)))
        _check_kind(str(new.get("kind", t.kind)), str(new.get("body", t.body)))
        old = {f: getattr(t, f) for f in new}
        changed = {f: v for f, v in new.items() if old[f] != v}
        if not changed:
            return _view(t)
        for f, v in changed.items():
            setattr(t, f, v)
        t.updated_at = desk.now()
        before, after = _audit_fields({f: old[f] for f in changed}), _audit_fields(changed)
        record("template.edit", "template", t.id, {f: [before[f], after[f]] for f in changed})
        return _view(t)


def remove(desk: Desk, name: str) -> None:
    permissions.require(desk.actor, "template.manage")
    with desk.write() as (session, record):
        t = _load(session, name)
        record("template.remove", "template", t.id, {"name": [t.name, None]})
        session.delete(t)


def show(desk: Desk, name: str) -> TemplateView:
    permissions.require(desk.actor, "template.read")
    with desk.store.read() as s:
        return _view(_load(s, name))


def list_templates(desk: Desk, kind: str | None = None) -> list[TemplateView]:
    permissions.require(desk.actor, "template.read")
    query = select(Template).order_by(Template.kind, Template.name)
    if kind is not None:
        query = query.where(Template.kind == parse_enum(TemplateKind, kind, "kind").value)
    with desk.store.read() as s:
        return [_view(t) for t in s.scalars(query)]
