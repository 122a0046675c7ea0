"""The customer's edge is hostile (issue 12): every CLI command that takes outside input,
fed what an attacker would feed it, on SQLite and PostgreSQL alike.

Each case asserts: the documented exit code, exactly one line on stderr that says what was
wrong, no traceback, no hang (a timeout), and the database exactly as it was (a dump of
every table's rows, before and after). SUPPORTDESK_DEBUG=1 is set, so an exception that no
service turned into a message (the CLI's last guard) escapes and fails the case instead of
being printed as "internal error".

Most cases run `supportdesk.cli.main` in-process through click's isolation (same argv,
stdin, environment, exit code and output as a process; an argument that was not UTF-8
reaches Python as a lone surrogate, which is passed as such); the cases whose point is the
bytes themselves (invalid UTF-8 in argv, in the environment, on stdin) run real processes.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from supportdesk.cli import EXIT_ERROR, EXIT_NOTHING, EXIT_OK, EXIT_USAGE, main
from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.rules import limits
from supportdesk.services import directory, incidents, tickets
from supportdesk.services.admin.setup import init_database
from supportdesk.services.callers import verification
from supportdesk.services.incidents import maintenance
from supportdesk.store import Store
from tests.helpers.cli import run_bytes
from tests.helpers.desk import dump
from tests.helpers.postgres import PG_URL, need_postgres
from tests.helpers.samples import kaggle_csv, kaggle_row

pytestmark = pytest.mark.timeout(120)  # a hang fails its case (e.g. reading /dev/zero)

PRIYA = "priya@bluefin.example"
NEW = ("ticket", "new", "--account", "bluefin", "--priority", "low", "--category",
       "technical", "--channel", "phone")  # fmt: skip
NEW_SUBJECT = (*NEW, "--subject", "x")


# -- the world every case runs against ------------------------------------------------------
@dataclass
class World:
    url: str
    key: Path
    store: Store
    files: dict[str, str] = field(default_factory=dict)

    def env(self, **extra: str | None) -> dict[str, str | None]:
        env: dict[str, str | None] = {
            "SUPPORTDESK_DB": self.url,
            "SUPPORTDESK_AUDIT_KEY": str(self.key),
            "SUPPORTDESK_AGENT": "lena",
            "SUPPORTDESK_DEBUG": "1",
            "SUPPORTDESK_NOW": None,
        }
        env.update(extra)
        return env


def _files(root: Path) -> dict[str, str]:
    """Hostile files: devices, a FIFO, a directory, huge (sparse), binary, not UTF-8."""
    fifo = root / "fifo"
    os.mkfifo(fifo)
    folder = root / "folder"
    folder.mkdir()
    huge = root / "huge.toml"
    with huge.open("wb") as fh:
        fh.truncate(300 << 20)  # sparse: 300 MB that takes no disk
    binary = root / "binary"
    binary.write_bytes(bytes(range(256)) * 4)
    latin = root / "latin1.toml"
    latin.write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    empty = root / "empty"
    empty.write_bytes(b"")
    short_key = root / "short.key"
    short_key.write_text("abcd\n")
    nonhex_key = root / "nonhex.key"
    nonhex_key.write_text("zz" * 32 + "\n")
    exports = {
        "year9999": kaggle_row(
            "1",
            "a@x.example",
            "Closed",
            **{"First Response Time": "9999-12-31 23:59:59", "Time to Resolution": "9999-12-31"},
        ),
        "year1": kaggle_row(
            "1", "a@x.example", "Closed", **{"First Response Time": "0001-01-01 00:00:00+14:00"}
        ),
        "year1969": kaggle_row("1", "a@x.example", **{"First Response Time": "1969-12-31"}),
        "nul": kaggle_row(
            "1",
            "a@x.example",
            **{"Ticket Subject": "a\x00b", "Ticket Description": "x\x00y", "name": "N\x00N"},
        ),
        "long": kaggle_row(
            "1",
            "b" * 300 + "@x.example",
            **{
                "Ticket Subject": "s" * 5000,
                "Ticket Description": "d" * 100_000,
                "name": "n" * 5000,
                "Product Purchased": "p" * 5000,
            },
        ),
        "long-fields": kaggle_row(
            "1",
            "a@x.example",
            **{
                "Ticket Subject": "s" * 5000,
                "Ticket Description": "d" * 100_000,
                "name": "n" * 5000,
                "Product Purchased": "p" * 5000,
                "Resolution": "r" * 100_000,
            },
        ),
        "bigid": kaggle_row("9" * 40, "a@x.example"),
        "controls": kaggle_row(
            "1\x1b[2J",
            "a@x.example",
            **{"Ticket Subject": "\u202eevil\x1b]0;t\x07", "name": "\x1b[31mred"},
        ),
        "numbers": kaggle_row(
            "1",
            "a@x.example",
            **{"Customer Age": "9" * 5000, "Customer Satisfaction Rating": "1e400"},
        ),
        "field-limit": kaggle_row("1", "a@x.example", **{"Ticket Description": "d" * 200_000}),
    }
    csvs: dict[str, str] = {}
    for name, row in exports.items():
        path = root / f"export-{name}.csv"
        path.write_text(kaggle_csv(row), encoding="utf-8")
        csvs[f"export_{name}"] = str(path)
    return {
        **csvs,
        "zero": "/dev/zero",
        "urandom": "/dev/urandom",
        "fifo": str(fifo),
        "folder": str(folder),
        "missing": str(root / "missing"),
        "huge": str(huge),
        "binary": str(binary),
        "latin1": str(latin),
        "empty": str(empty),
        "short_key": str(short_key),
        "nonhex_key": str(nonhex_key),
    }


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One desk per database for the whole module: a failed command must leave it as it
    was, which every case checks, so sharing it costs nothing and saves an init per case."""
    root = tmp_path_factory.mktemp("hostile")
    schema = None
    if request.param == "sqlite":
        url = str(root / "desk.db")
    else:
        need_postgres()
        import psycopg

        schema = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    key = root / "audit.key"
    store = Store(url)
    lead = Desk(store, "lena", Clock(), key)
    init_database(lead, admin="lena")
    directory.add_staff(lead, "amir", "Amir Patel", 1, "agent")
    directory.add_staff(lead, "tomas", "Tomas Berg", 2, "engineer")
    directory.add_account(lead, "bluefin", "Bluefin Media", "gold")
    directory.add_contact(lead, "bluefin", "Priya Naidoo", [PRIYA], ["+27 21 555 0101"], "primary")
    directory.add_service(lead, "bluefin", "managed_server", "Web", ["bluefin.example"],
                          "web-cpt-14")  # fmt: skip
    verification.set_pin(lead, "bluefin", PRIYA)
    first = tickets.create(lead, account="bluefin", subject="Site down", priority="high",
                           category="technical", channel="phone")  # fmt: skip
    assert first == 1
    held = tickets.create(lead, account="bluefin", subject="Refund", priority="low",
                          category="billing", channel="phone", request_type="billing")  # fmt: skip
    assert held == 2
    tickets.note(lead, 1, "first note")  # event ids exist
    incidents.open_incident(lead, ["web-cpt-14"], "Web server down")
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    maintenance.add_window(lead, ["web-cpt-14"], soon, soon + timedelta(hours=2), "Kernel update")
    world = World(url, key, store, _files(root))
    yield world
    store.dispose()
    if schema is not None:
        import psycopg

        with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


# -- running the CLI ----------------------------------------------------------------------
@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str


def run_inprocess(world: World, args: tuple[str, ...], stdin: bytes = b"",
                  env: dict[str, str | None] | None = None) -> Result:  # fmt: skip
    runner = CliRunner()
    with runner.isolation(input=stdin, env=world.env(**(env or {}))) as (out, err, _both):
        try:
            main(list(args))
            code = EXIT_OK
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else EXIT_ERROR
        return Result(code, out.getvalue().decode("utf-8", "replace"),
                      err.getvalue().decode("utf-8", "replace"))  # fmt: skip


def run_process(world: World, args: tuple[str | bytes, ...], stdin: bytes = b"",
                env: dict[str, str | bytes | None] | None = None) -> Result:  # fmt: skip
    full: dict[bytes, bytes] = {
        k.encode(): v.encode() for k, v in os.environ.items() if not k.startswith("SUPPORTDESK_")
    }
    for k, v in {**world.env(), **(env or {})}.items():
        if v is not None:
            full[k.encode()] = v if isinstance(v, bytes) else v.encode()
    argv = [a if isinstance(a, bytes) else a.encode() for a in args]
    p = run_bytes(full, *argv, stdin=stdin, timeout=90)
    return Result(p.returncode, p.stdout.decode("utf-8", "replace"),
                  p.stderr.decode("utf-8", "replace"))  # fmt: skip


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    code: int
    message: str  # a regular expression the stderr line (stdout when code is 0) must match
    stdin: bytes = b""
    env: tuple[tuple[str, str], ...] = ()


def _fill(world: World, args: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(a.format(**world.files) if "{" in a else a for a in args)


def check(world: World, case: Case, result: Result) -> None:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert result.code == case.code, (result.code, result.stderr, result.stdout[:300])
    if case.code == EXIT_OK:
        assert result.stderr == "", result.stderr
        assert re.search(case.message, result.stdout), result.stdout[:300]
        return
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr[:2000]
    assert lines[0].startswith("supportdesk: "), lines[0][:300]
    assert len(lines[0]) <= len("supportdesk: ") + 500, lines[0][:600]
    assert re.search(case.message, lines[0]), lines[0][:300]


# -- the cases ------------------------------------------------------------------------------
def _id_cases() -> list[Case]:
    """Every command that takes an id: malformed ones are refused by the option type;
    ids past 2^31-1 (PostgreSQL's INTEGER) find nothing, on both databases."""
    bad_forms = {
        "zero": "0",
        "2^63": "9223372036854775808",
        "2^76": "99999999999999999999999",
        "word": "abc",
        "float": "1e3",
        "superscript": "\u00b2",
        "empty": "",
        "hex": "0x10",
    }
    ticket_cmds: list[tuple[str, tuple[str, ...], int, str]] = [
        ("show", ("ticket", "show", "{id}"), 1, "no ticket #{id}"),
        ("brief", ("ticket", "brief", "{id}"), 1, "no ticket #{id}"),
        ("update", ("ticket", "update", "{id}", "--priority", "high"), 1, "no ticket #{id}"),
        ("reply", ("ticket", "reply", "{id}", "hello"), 1, "no ticket #{id}"),
        ("call", ("ticket", "call", "{id}", "--outcome", "spoke"), 1, "no ticket #{id}"),
        ("note", ("ticket", "note", "{id}", "hello"), 1, "no ticket #{id}"),
        ("take", ("ticket", "take", "{id}"), 1, "no ticket #{id}"),
        ("resolve", ("ticket", "resolve", "{id}", "--code", "fixed"), 1, "no ticket #{id}"),
        ("merge", ("ticket", "merge", "{id}", "--into", "1"), 1, "no ticket #{id}"),
        ("merge-into", ("ticket", "merge", "1", "--into", "{id}"), 1, "no ticket #{id}"),
        ("confirm", ("ticket", "confirm", "{id}", "--verification", "1"), 1, "no ticket #{id}"),
        ("schedule", ("ticket", "schedule", "{id}", "--window", "1"), 1, "no ticket #{id}"),
        ("escalate", ("escalate", "{id}", "--reason", "x"), 1, "no ticket #{id}"),
        ("deescalate", ("deescalate", "{id}", "--reason", "x"), 1, "no ticket #{id}"),
        ("release", ("release", "{id}", "--reason", "x"), 1, "no ticket #{id}"),
        ("reassign", ("reassign", "{id}", "--to", "amir"), 1, "no ticket #{id}"),
        ("complaint", ("complaint", "ack", "{id}", "--note", "x"), 1, "no ticket #{id}"),
        ("sla-show", ("sla", "show", "{id}"), 1, "no ticket #{id}"),
        ("link-ticket", ("incident", "link", "1", "--ticket", "{id}"), 1, "no ticket #{id}"),
        ("keep-open", ("incident", "resolve", "1", "done", "--keep-open", "{id}"), 2,
         r"not linked to incident #1: #{id}"),
        ("redact", ("ticket", "redact", "{id}", "--reason", "x"), 1, "no ticket event {id}"),
        ("incident-show", ("incident", "show", "{id}"), 1, "no incident #{id}"),
        ("incident-ack", ("incident", "ack", "{id}"), 1, "no incident #{id}"),
        ("incident-update", ("incident", "update", "{id}", "text"), 1, "no incident #{id}"),
        ("incident-link", ("incident", "link", "{id}", "--ticket", "1"), 1, "no incident #{id}"),
        ("incident-call", ("incident", "call", "{id}", "--account", "bluefin"), 1,
         "no incident #{id}"),
        ("incident-resolve", ("incident", "resolve", "{id}", "done"), 1, "no incident #{id}"),
        ("window", ("ticket", "schedule", "1", "--window", "{id}"), 1,
         "no maintenance window #{id}"),
        ("new-service", (*NEW_SUBJECT, "--service", "{id}"), 1,
         "no service {id} on account bluefin"),
        ("contact-service", ("contact", "add", "--account", "bluefin", "--name", "Ann",
                             "--email", "ann@bluefin.example", "--role", "authorized",
                             "--service", "{id}"), 1, "no service {id} on account bluefin"),
        ("verify-service", ("verify", "--account", "bluefin", "--service", "{id}"), 1,
         "no service {id} on account bluefin"),
        ("new-verification", (*NEW_SUBJECT, "--verification", "{id}"), 1,
         "no verification {id} for account bluefin"),
        ("confirm-verification", ("ticket", "confirm", "2", "--verification", "{id}"), 1,
         "no verification {id} for account bluefin"),
        ("contact-verification", ("contact", "add", "--account", "bluefin", "--name", "Ann",
                                  "--email", "ann@bluefin.example", "--role", "authorized",
                                  "--verification", "{id}"), 1,
         "no verification {id} for account bluefin"),
    ]  # fmt: skip
    out: list[Case] = []
    for name, template, code, message in ticket_cmds:
        for form, value in bad_forms.items():
            args = tuple(a.replace("{id}", value) for a in template)
            out.append(Case(f"id-{name}-{form}", args, EXIT_USAGE,
                            "must be a positive number below 2\\^63"))  # fmt: skip
        for value in ("2147483648", "9223372036854775807"):
            args = tuple(a.replace("{id}", value) for a in template)
            out.append(Case(f"id-{name}-{value}", args, code, message.replace("{id}", value)))
    return out


HUGE = 120_000  # the attacker's 120 KB subject


def _text_variants(limit: int) -> dict[str, tuple[str, str]]:
    most = re.escape(f"at most {limit:,}").replace(",", ",?")
    return {
        "nul": ("a\x00b", "NUL character"),
        "over": ("x" * (limit + 1), most),
        "surrogate": ("ok\udcff", "not valid UTF-8"),
        **({"huge": ("y" * HUGE, most)} if limit + 1 < HUGE else {}),
    }


def _text_cases() -> list[Case]:
    """Each text field, given a NUL, one character past its limit, 120 KB and bytes that
    were not UTF-8: refused by name, the same on both databases."""
    mail = "ann@bluefin.example"
    contact = ("contact", "add", "--account", "bluefin", "--role", "authorized")
    fields: list[tuple[str, tuple[str, ...], int]] = [
        ("subject", (*NEW, "--subject", "{v}"), limits.SUBJECT.chars),
        ("description", (*NEW_SUBJECT, "--description", "{v}"), limits.BODY.chars),
        ("caller-name", (*NEW_SUBJECT, "--caller-name", "{v}"), limits.NAME.chars),
        ("caller-phone", (*NEW_SUBJECT, "--caller-phone", "{v}"), limits.PHONE.chars),
        ("new-contact", (*NEW_SUBJECT, "--contact", "{v}"), limits.EMAIL.chars),
        ("new-account", ("ticket", "new", "--account", "{v}", "--subject", "x", "--priority",
                         "low", "--category", "technical", "--channel", "phone"), 64),
        ("new-from", ("ticket", "new", "--account", "bluefin", "--subject", "x", "--priority",
                      "low", "--category", "technical", "--channel", "email", "--from", "{v}"),
         limits.EMAIL.chars),
        ("reply", ("ticket", "reply", "1", "{v}"), limits.BODY.chars),
        ("note", ("ticket", "note", "1", "{v}"), limits.BODY.chars),
        ("call", ("ticket", "call", "1", "{v}", "--outcome", "spoke"), limits.BODY.chars),
        ("redact", ("ticket", "redact", "1", "--reason", "{v}"), limits.REASON.chars),
        ("search", ("queue", "--search", "{v}"), limits.SEARCH.chars),
        ("account-id", ("account", "add", "{v}", "--company", "C", "--plan", "gold"), 64),
        ("company", ("account", "add", "newco", "--company", "{v}", "--plan", "gold"), 200),
        ("plan", ("account", "add", "newco", "--company", "C", "--plan", "{v}"), 64),
        ("notes", ("account", "add", "newco", "--company", "C", "--plan", "gold", "--notes",
                   "{v}"), limits.NOTES.chars),
        ("account-show", ("account", "show", "{v}"), 64),
        ("account-plan", ("account", "plan", "bluefin", "{v}"), 64),
        ("add-reseller", ("account", "add", "newco", "--company", "C", "--plan", "gold",
                          "--reseller", "{v}"), 64),
        ("update-reseller", ("account", "update", "bluefin", "--reseller", "{v}"), 64),
        ("update-account", ("account", "update", "{v}", "--no-reseller"), 64),
        ("account-search", ("account", "list", "--search", "{v}"), limits.SEARCH.chars),
        ("login", ("staff", "add", "{v}", "--name", "N", "--tier", "1", "--role", "agent"), 64),
        ("staff-name", ("staff", "add", "newbie", "--name", "{v}", "--tier", "1", "--role",
                        "agent"), 200),
        ("contact-name", (*contact, "--name", "{v}", "--email", mail), 200),
        ("contact-email", (*contact, "--name", "Ann", "--email", "{v}"), limits.EMAIL.chars),
        ("contact-phone", (*contact, "--name", "Ann", "--phone", "{v}"), limits.PHONE.chars),
        ("contact-account", ("contact", "add", "--account", "{v}", "--role", "authorized",
                             "--name", "Ann", "--email", mail), 64),
        ("pin-contact", ("contact", "pin", "--account", "bluefin", "--contact", "{v}",
                         "--rotate"), limits.CONTACT_REF.chars),
        ("pin-account", ("contact", "pin", "--account", "{v}", "--contact", PRIYA), 64),
        ("unlock-contact", ("contact", "unlock", "--account", "bluefin", "--contact", "{v}"),
         limits.CONTACT_REF.chars),
        ("label", ("service", "add", "--account", "bluefin", "--kind", "domain", "--label",
                   "{v}"), 200),
        ("domain", ("service", "add", "--account", "bluefin", "--kind", "domain", "--domain",
                    "{v}"), limits.DOMAIN.chars),
        ("server", ("service", "add", "--account", "bluefin", "--kind", "domain", "--server",
                    "{v}"), limits.SERVER.chars),
        ("service-account", ("service", "add", "--account", "{v}", "--kind", "domain"), 64),
        ("verify-contact", ("verify", "--account", "bluefin", "--contact", "{v}",
                            "--callback", "+27215550101"), limits.CONTACT_REF.chars),
        ("verify-account", ("verify", "--account", "{v}", "--contact", PRIYA, "--callback",
                            "+27215550101"), 64),
        ("callback", ("verify", "--account", "bluefin", "--contact", PRIYA, "--callback",
                      "{v}"), limits.PHONE.chars),
        ("escalate-reason", ("escalate", "1", "--reason", "{v}"), limits.REASON.chars),
        ("tried", ("escalate", "1", "--reason", "x", "--tried", "{v}"), limits.TRIED.chars),
        ("supervisor-reason", ("escalate", "1", "--supervisor", "--reason", "{v}"),
         limits.REASON.chars),
        ("deescalate-reason", ("deescalate", "1", "--reason", "{v}"), limits.REASON.chars),
        ("release-reason", ("release", "1", "--reason", "{v}"), limits.REASON.chars),
        ("complaint-note", ("complaint", "ack", "1", "--note", "{v}"), limits.REASON.chars),
        ("handover", ("end-shift", "--note", "{v}"), limits.REASON.chars),
        ("reassign-to", ("reassign", "1", "--to", "{v}"), 64),
        ("incident-server", ("incident", "open", "--server", "{v}", "--title", "t"),
         limits.SERVER.chars),
        ("incident-title", ("incident", "open", "--server", "web-cpt-14", "--title", "{v}"),
         limits.TITLE.chars),
        ("incident-script", ("incident", "open", "--server", "web-cpt-14", "--title", "t",
                             "--script", "{v}"), 4000),
        ("incident-owner", ("incident", "open", "--server", "web-cpt-14", "--title", "t",
                            "--owner", "{v}"), 64),
        ("update-text", ("incident", "update", "1", "{v}"), 4000),
        ("update-script", ("incident", "update", "1", "news", "--script", "{v}"), 4000),
        ("link-reason", ("incident", "link", "1", "--ticket", "1", "--reason", "{v}"),
         limits.REASON.chars),
        ("call-account", ("incident", "call", "1", "--account", "{v}"), 64),
        ("call-caller", ("incident", "call", "1", "--account", "bluefin", "--caller-name",
                         "{v}"), 200),
        ("call-phone", ("incident", "call", "1", "--account", "bluefin", "--caller-phone",
                        "{v}"), limits.PHONE.chars),
        ("call-note", ("incident", "call", "1", "--account", "bluefin", "--note", "{v}"),
         limits.BODY.chars),
        ("call-reason", ("incident", "call", "1", "--account", "bluefin", "--reason", "{v}"),
         limits.REASON.chars),
        ("call-contact", ("incident", "call", "1", "--account", "bluefin", "--contact", "{v}"),
         limits.EMAIL.chars),
        ("resolve-text", ("incident", "resolve", "1", "{v}"), 4000),
        ("window-server", ("maintenance", "add", "--server", "{v}", "--from",
                           "2990-01-01T00:00Z", "--to", "2990-01-01T02:00Z", "--notice", "n"),
         limits.SERVER.chars),
        ("window-notice", ("maintenance", "add", "--server", "web-cpt-14", "--from",
                           "2990-01-01T00:00Z", "--to", "2990-01-01T02:00Z", "--notice",
                           "{v}"), limits.NOTICE.chars),
        ("as", ("--as", "{v}", "queue"), 64),
        ("init-admin", ("init", "--admin", "{v}"), 64),
        ("init-admin-name", ("init", "--admin", "newlead", "--admin-name", "{v}"), 200),
    ]  # fmt: skip
    out: list[Case] = []
    for name, template, limit in fields:
        for variant, (value, message) in _text_variants(limit).items():
            args = tuple(value if a == "{v}" else a for a in template)
            out.append(Case(f"text-{name}-{variant}", args, EXIT_USAGE, message))
    return out


def _required_cases() -> list[Case]:
    """Empty or blank where something is required."""
    return [
        Case("empty-subject", (*NEW, "--subject", "  "), 2, "needs a subject"),
        Case("empty-reply", ("ticket", "reply", "1", " \t "), 2, "needs text"),
        Case("empty-reply-stdin", ("ticket", "reply", "1"), 2, "needs text", stdin=b"\n"),
        Case("empty-reason", ("escalate", "1", "--reason", " "), 2, "give a reason"),
        Case(
            "empty-staff-name",
            ("staff", "add", "newbie", "--name", " ", "--tier", "1", "--role", "agent"),
            2,
            "name: empty",
        ),
        Case(
            "empty-title",
            ("incident", "open", "--server", "web-cpt-14", "--title", " "),
            2,
            "give a title",
        ),
        Case(
            "empty-contact",
            ("contact", "pin", "--account", "bluefin", "--contact", " "),
            2,
            "name the contact",
        ),
        Case(
            "login-newline",
            ("staff", "add", "bob\n", "--name", "Bob", "--tier", "1", "--role", "agent"),
            2,
            "login",
        ),
        Case(
            "account-newline",
            ("account", "add", "newco\n", "--company", "C", "--plan", "gold"),
            2,
            "account id",
        ),
        Case(
            "request-type-nul",
            (*NEW_SUBJECT, "--request-type", "billing\x00"),
            2,
            "unknown request type",
        ),
        Case(
            "priority-bogus",
            ("ticket", "update", "1", "--priority", "urgent\x00"),
            2,
            "Invalid value for '--priority'",
        ),
        Case(
            "too-many-domains",
            (
                "service",
                "add",
                "--account",
                "bluefin",
                "--kind",
                "domain",
                *[x for i in range(101) for x in ("--domain", f"d{i}.example")],
            ),
            2,
            "at most 100",
        ),
        Case(
            "too-many-emails",
            (
                "contact",
                "add",
                "--account",
                "bluefin",
                "--role",
                "authorized",
                "--name",
                "Ann",
                *[x for i in range(21) for x in ("--email", f"a{i}@x.example")],
            ),
            2,
            "at most 20",
        ),
        Case(
            "too-many-servers",
            (
                "incident",
                "open",
                "--title",
                "t",
                *[x for i in range(101) for x in ("--server", f"s{i}")],
            ),
            2,
            "at most 100",
        ),
    ]


def _number_cases() -> list[Case]:
    """Counts and tiers: bounded by their option type, never an overflow further in."""
    return [
        Case("queue-limit-0", ("queue", "--limit", "0"), 2, "--limit"),
        Case("queue-limit-huge", ("queue", "--limit", "99999999999999999999"), 2, "--limit"),
        Case("queue-tier-huge", ("queue", "--tier", "99999999999"), 2, "--tier"),
        Case("accounts-limit-0", ("account", "list", "--limit", "0"), 2, "--limit"),
        Case("accounts-limit-huge", ("account", "list", "--limit", "9" * 30), 2, "--limit"),
        Case("claims-limit-0", ("claims", "--limit", "0"), 2, "--limit"),
        Case("incidents-limit", ("incident", "list", "--limit", "9" * 25), 2, "--limit"),
        Case("board-tier-huge", ("board", "--tier", "99999999999"), 2, "tier: must be"),
        Case("board-tier-word", ("board", "--tier", "top"), 2, "tier: must be"),
        Case("claim-tier-huge", ("claim", "--next", "--tier", "9" * 20), 2, "tier: must be"),
        Case(
            "staff-tier-huge",
            ("staff", "add", "newbie", "--name", "N", "--tier", "99999999999", "--role", "agent"),
            2,
            "tier: must be",
        ),
        Case(
            "staff-tier-4",
            ("staff", "add", "newbie", "--name", "N", "--tier", "4", "--role", "agent"),
            2,
            "--tier must be 1, 2 or 3",
        ),
        Case(
            "escalate-tier-huge",
            ("escalate", "1", "--reason", "x", "--to-tier", "99999999999"),
            2,
            "tier: must be",
        ),
        Case(
            "escalate-tier-4", ("escalate", "1", "--reason", "x", "--to-tier", "4"), 2, "no tier 4"
        ),
        Case(
            "cadence-huge",
            (
                "incident",
                "open",
                "--server",
                "web-cpt-14",
                "--title",
                "t",
                "--cadence",
                "99999999999999h",
            ),
            2,
            "--cadence",
        ),
        Case(
            "cadence-digits",
            (
                "incident",
                "open",
                "--server",
                "web-cpt-14",
                "--title",
                "t",
                "--cadence",
                "9" * 5000 + "m",
            ),
            2,
            "--cadence",
        ),
        Case(
            "sla-add-huge",
            (
                "sla",
                "due",
                "--calendar",
                "office",
                "--from",
                "2026-11-20T09:00Z",
                "--add",
                "99999999999999999999d",
            ),
            2,
            "--add",
        ),
        Case(
            "sla-add-digits",
            (
                "sla",
                "due",
                "--calendar",
                "office",
                "--from",
                "2026-11-20T09:00Z",
                "--add",
                "9" * 5000 + "m",
            ),
            2,
            "--add",
        ),
        Case(
            "search-huge-number",
            ("queue", "--search", "#999999999999999999999"),
            0,
            "nothing in queue",
        ),
        Case("search-2^31", ("queue", "--search", "2147483648"), 0, "nothing in queue"),
        Case("search-superscript", ("queue", "--search", "#\u00b2"), 0, "nothing in queue"),
        Case("search-arabic", ("queue", "--search", "\u0661\u0662"), 0, "nothing in queue"),
    ]


BAD_TIMES = {
    "year-9999": ("9999-12-31T00:00Z", "outside the years"),
    "year-1-east": ("0001-01-01T00:00+14:00", "outside the years"),
    "year-1969": ("1969-12-31T23:59Z", "outside the years"),
    "year-3000": ("3000-01-01T00:00Z", "outside the years"),
    "year-1-naive": ("0001-01-01T00:00", "outside the years"),
    "word": ("tomorrow", "not a time"),
    "nul": ("2026-11-20T09:00\x00", "not a time"),
    "long": ("2026-11-20T09:00" + "0" * 200, "not a time"),
}


def _time_cases() -> list[Case]:
    """Times past what calendars handle: refused in one line wherever a time is taken."""
    out: list[Case] = []
    for name, (value, message) in BAD_TIMES.items():
        out += [
            Case(f"time-at-{name}", ("--at", value, "queue"), 2, message),
            Case(f"time-env-{name}", ("queue",), 2, message, env=(("SUPPORTDESK_NOW", value),))
            if "\x00" not in value
            else Case(f"time-at-show-{name}", ("--at", value, "ticket", "show", "1"), 2, message),
            Case(
                f"time-sla-due-{name}",
                ("sla", "due", "--calendar", "office", "--from", value, "--add", "1h"),
                2,
                message,
            ),
            Case(
                f"time-window-from-{name}",
                (
                    "maintenance",
                    "add",
                    "--server",
                    "web-cpt-14",
                    "--from",
                    value,
                    "--to",
                    "2990-01-01T02:00Z",
                    "--notice",
                    "n",
                ),
                2,
                message,
            ),
            Case(
                f"time-window-to-{name}",
                (
                    "maintenance",
                    "add",
                    "--server",
                    "web-cpt-14",
                    "--from",
                    "2990-01-01T00:00Z",
                    "--to",
                    value,
                    "--notice",
                    "n",
                ),
                2,
                message,
            ),
            Case(f"time-report-{name}", ("report", "sla", "--from", value), 2, message),
        ]
    return out


def _file_cases() -> list[Case]:
    """Files that hang, never end, are huge, binary or not UTF-8: one line each, no hang."""
    policy_files = {
        "zero": "not a regular file",
        "urandom": "not a regular file",
        "fifo": "not a regular file",
        "missing": "cannot read",
        "huge": "300 MB, at most 1 MB",
        "binary": "not UTF-8",
        "latin1": "not UTF-8",
    }
    out: list[Case] = []
    for name, message in policy_files.items():
        out.append(Case(f"policy-check-{name}", ("policy", "check", f"{{{name}}}"), 2, message))
        out.append(Case(f"policy-load-{name}", ("policy", "load", f"{{{name}}}"), 2, message))
        out.append(Case(f"init-policy-{name}", ("init", "--policy", f"{{{name}}}"), 2, message))
    out.append(Case("policy-check-folder", ("policy", "check", "{folder}"), 2, "is a directory"))
    import_files = {
        "zero": (2, "not a regular file"),
        "urandom": (2, "not a regular file"),
        "fifo": (2, "not a regular file"),
        "folder": (2, "is a directory"),
        "missing": (2, "cannot read"),
        "huge": (2, "300 MB, at most 256 MB"),
        "binary": (2, "not UTF-8"),
        "latin1": (2, "not UTF-8"),
    }
    for name, (code, message) in import_files.items():
        out.append(Case(f"import-{name}", ("import", f"{{{name}}}"), code, message))
    exports = {  # hostile rows, checked in a dry run: reported or refused, nothing written
        "year9999": (2, "not a time from 1970 to 2999"),
        "year1": (2, "not a time from 1970 to 2999"),
        "year1969": (2, "not a time from 1970 to 2999"),
        "nul": (0, "would import 1 tickets"),
        "long": (2, "Customer Email: 310 characters, at most 254"),
        "long-fields": (0, "would import 1 tickets"),
        "bigid": (0, "would import 1 tickets"),
        "controls": (0, "would import 1 tickets"),
        "numbers": (0, "would import 1 tickets"),
        "field-limit": (2, "not CSV: field larger than field limit"),
    }
    for name, (code, message) in exports.items():
        out.append(
            Case(
                f"import-export-{name}",
                ("import", f"{{export_{name}}}", "--dry-run", "--plan", "gold"),
                code,
                message,
            )
        )
    out += [
        Case("import-stdin-binary", ("import", "-"), 2, "not UTF-8", stdin=bytes(range(256))),
        Case(
            "import-zone-nul",
            ("import", "{empty}", "--timezone", "UTC\x00"),
            2,
            "unknown time zone",
        ),
        Case(
            "import-zone-path",
            ("import", "{empty}", "--timezone", "../../etc/passwd"),
            2,
            "unknown time zone",
        ),
    ]
    key_files = {
        "zero": "not a regular file",
        "urandom": "not a regular file",
        "fifo": "not a regular file",
        "folder": "is a directory",
        "missing": "no audit key",
        "huge": "at most 4,096 bytes",
        "binary": "not a supportdesk key",
        "latin1": "not a supportdesk key",
        "empty": "too short",
        "short_key": "not a supportdesk key|too short",
        "nonhex_key": "not a supportdesk key",
    }
    for name, message in key_files.items():
        out.append(Case(f"audit-key-{name}", ("--audit-key", f"{{{name}}}", "ticket", "note",
                                              "1", "hello"), 1, message))  # fmt: skip
    out += [
        Case("db-nul", ("--db", "desk\x00.db", "queue"), 2, "--db: contains a NUL"),
        Case("db-long", ("--db", "x" * 5000, "queue"), 2, "at most 4,096"),
        Case("db-scheme", ("--db", "mysql://u@h/d", "queue"), 1, "unsupported database"),
        Case("db-no-dir", ("--db", "/nonexistent-dir/x.db", "queue"), 1, "does not exist"),
        Case("db-sqlite-url", ("--db", "sqlite:///", "queue"), 1, "needs a file"),
        Case("db-folder", ("--db", "{folder}", "queue"), 1, "cannot be opened|not a"),
        Case("as-unknown", ("--as", "nobody", "queue"), 1, "no staff member"),
        Case("init-admin-upper", ("init", "--admin", "Root!"), 2, "--admin 'Root!'"),
    ]
    return out


MALFORMED_PIN_INPUT = {
    "empty": b"",
    "blank-line": b"\n",
    "nul": b"\x00\n",
    "letters": b"abcd\n",
    "space": b"12 34\n",
    "short": b"123\n",
    "long": b"1" * 13 + b"\n",
    "megabyte": b"9" * 1_000_000,
    "arabic": "\u0661\u0662\u0663\u0664\n".encode(),
    "fullwidth": "\uff11\uff12\uff13\uff14\n".encode(),
    "not-utf8": b"12\xff34\n",
    "escape": b"\x1b[2J1234\n",
}


def _pin_cases() -> list[Case]:
    """Input that is not a PIN: refused, and (the dump shows) no attempt logged or counted."""
    return [
        Case(
            f"pin-{name}",
            ("verify", "--account", "bluefin", "--contact", PRIYA),
            2,
            "PIN",
            stdin=data,
        )
        for name, data in MALFORMED_PIN_INPUT.items()
    ]


def _stdin_cases() -> list[Case]:
    too_long = b"z" * (limits.BODY.chars + 1)
    return [
        Case(
            "stdin-reply-long", ("ticket", "reply", "1", "-"), 2, "at most 200,000", stdin=too_long
        ),
        Case(
            "stdin-note-huge",
            ("ticket", "note", "1"),
            2,
            "standard input: more than",
            stdin=b"z" * (4 << 20),
        ),
        Case("stdin-reply-nul", ("ticket", "reply", "1"), 2, "NUL", stdin=b"a\x00b"),
        Case(
            "stdin-update-long", ("incident", "update", "1"), 2, "at most 4,?000", stdin=b"u" * 4001
        ),
        Case(
            "stdin-resolve-not-utf8",
            ("incident", "resolve", "1"),
            2,
            "not valid UTF-8",
            stdin=b"\xc3(",
        ),
    ]


CASES = (
    _id_cases()
    + _text_cases()
    + _required_cases()
    + _number_cases()
    + _time_cases()
    + _file_cases()
    + _pin_cases()
    + _stdin_cases()
)


def test_the_suite_is_large_and_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 250


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(world: World, case: Case) -> None:
    before = dump(world.store)
    result = run_inprocess(world, _fill(world, case.args), case.stdin, dict(case.env))
    check(world, case, result)
    assert dump(world.store) == before


def _as_process(case: Case) -> bool:
    """Cases a real process can be given: argv holds no NUL and no argument over 128 KB."""
    return all("\x00" not in a and len(a) < 100_000 for a in case.args)


PROCESS_SAMPLE = [c for c in CASES if _as_process(c)][::40]


@pytest.mark.parametrize("case", PROCESS_SAMPLE, ids=[c.id for c in PROCESS_SAMPLE])
def test_a_sample_runs_the_same_as_a_real_process(world: World, case: Case) -> None:
    """The in-process runner stands for a process: a sample across every group of cases,
    run as `python -m supportdesk`, gives the same exit code and line."""
    before = dump(world.store)
    args = _fill(world, case.args)
    real = run_process(world, tuple(a.encode("utf-8", "surrogateescape") for a in args),
                       case.stdin, dict(case.env))  # fmt: skip
    check(world, case, real)
    assert dump(world.store) == before
    assert real == run_inprocess(world, args, case.stdin, dict(case.env))


# -- bytes that are not UTF-8, as a real process gets them -----------------------------------
@dataclass(frozen=True)
class ByteCase:
    id: str
    args: tuple[str | bytes, ...]
    message: str
    stdin: bytes = b""
    env: tuple[tuple[str, bytes], ...] = ()


BYTE_CASES = [
    ByteCase("subject", (*NEW, "--subject", b"\xff\xfe"), "--subject: not valid UTF-8"),
    ByteCase("subject-equals", (*NEW, b"--subject=\xff"), "--subject: not valid UTF-8"),
    ByteCase(
        "contact-name",
        (
            "contact",
            "add",
            "--account",
            "bluefin",
            "--role",
            "authorized",
            "--email",
            "ann@bluefin.example",
            "--name",
            b"\xc3\x28",
        ),
        "--name: not valid UTF-8",
    ),
    ByteCase("search", ("queue", "--search", b"\xff"), "--search: not valid UTF-8"),
    ByteCase("reason", ("escalate", "1", "--reason", b"caf\xe9"), "--reason: not valid UTF-8"),
    ByteCase("at", ("--at", b"\xff", "queue"), "--at: not valid UTF-8"),
    ByteCase("ticket-id", ("ticket", "show", b"1\xff"), "argument 3: not valid UTF-8"),
    ByteCase("reply-arg", ("ticket", "reply", "1", b"\xed\xa0\x80"), "argument 4: not valid"),
    ByteCase(
        "env-now",
        ("queue",),
        "SUPPORTDESK_NOW: not valid UTF-8",
        env=(("SUPPORTDESK_NOW", b"\xff"),),
    ),
    ByteCase(
        "env-agent",
        ("queue",),
        "SUPPORTDESK_AGENT: not valid UTF-8",
        env=(("SUPPORTDESK_AGENT", b"l\xe9na"),),
    ),
    ByteCase(
        "stdin-reply",
        ("ticket", "reply", "1", "-"),
        "standard input: not valid UTF-8",
        stdin=b"\xff\xfe hello",
    ),
    ByteCase(
        "stdin-note", ("ticket", "note", "1"), "standard input: not valid UTF-8", stdin=b"ok \xc3"
    ),
    ByteCase(
        "stdin-pin",
        ("verify", "--account", "bluefin", "--contact", PRIYA),
        "PIN: not valid UTF-8",
        stdin=b"12\xff34\n",
    ),
    ByteCase("stdin-import", ("import", "-"), "not UTF-8", stdin=b"id,subject\n1,caf\xe9\n"),
    ByteCase(
        "stdin-update",
        ("incident", "update", "1"),
        "standard input: not valid UTF-8",
        stdin=b"\x80",
    ),
]


@pytest.mark.parametrize("case", BYTE_CASES, ids=[c.id for c in BYTE_CASES])
def test_bytes_that_are_not_utf8(world: World, case: ByteCase) -> None:
    before = dump(world.store)
    result = run_process(world, case.args, case.stdin, dict(case.env))
    check(world, Case(case.id, (), EXIT_USAGE, re.escape(case.message)), result)
    assert dump(world.store) == before


def test_the_guard_prints_one_line_and_exits_70_without_debug(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last guard is for bugs, and this suite shows no case reaches it; to see what it
    does, a bug is planted in the command group (the one stand-in in this file): one line
    and exit 70 without SUPPORTDESK_DEBUG, the exception itself with it."""
    import supportdesk.cli as cli_module

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("boom\nsecond line \x1b[2J")

    monkeypatch.setattr(cli_module.cli, "main", broken)
    result = run_inprocess(world, ("queue",), env={"SUPPORTDESK_DEBUG": None})
    assert result.code == 70
    assert result.stderr.count("\n") == 1 and "\x1b" not in result.stderr
    assert "internal error: RuntimeError: boom second line ␛[2J" in result.stderr
    with pytest.raises(RuntimeError):
        run_inprocess(world, ("queue",))


def test_exit_codes_are_the_documented_ones() -> None:
    assert (EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOTHING) == (0, 1, 2, 4)


# -- the limits module itself --------------------------------------------------------------
def test_check_names_the_field_and_the_limit() -> None:
    from supportdesk.errors import UsageError

    assert limits.check("fine", limits.SUBJECT) == "fine"
    with pytest.raises(UsageError, match=r"^subject: 120,001 characters, at most 300$"):
        limits.check("s" * 120_001, limits.SUBJECT)
    with pytest.raises(UsageError, match=r"^--name: contains a NUL character$"):
        limits.check("a\x00", limits.NAME, what="--name")
    with pytest.raises(UsageError, match=r"^name: not valid UTF-8$"):
        limits.check("caf\udce9", limits.NAME)
    with pytest.raises(UsageError, match=r"^reason: empty$"):
        limits.check("  ", limits.REASON, required=True)


def test_every_limit_fits_its_column() -> None:
    """Limits are at most the column sizes PostgreSQL enforces (VARCHAR(n))."""
    from supportdesk.models import Account, Contact, ContactPoint, Incident, Service, Staff, Ticket

    columns = {
        limits.SUBJECT: Ticket.__table__.c.subject,
        limits.CALLER_NAME: Ticket.__table__.c.caller_name,
        limits.PHONE: Ticket.__table__.c.caller_phone,
        limits.NAME: Contact.__table__.c.name,
        limits.COMPANY: Account.__table__.c.company,
        limits.ACCOUNT_ID: Account.__table__.c.id,
        limits.PLAN: Account.__table__.c.plan,
        limits.LABEL: Service.__table__.c.label,
        limits.SERVER: Service.__table__.c.server,
        limits.EMAIL: ContactPoint.__table__.c.value,
        limits.LOGIN: Staff.__table__.c.login,
        limits.TITLE: Incident.__table__.c.title,
    }
    for limit, column in columns.items():
        assert limit.chars <= column.type.length, (limit, column)


def test_sanitise_keeps_what_it_can_and_says_what_it_cut() -> None:
    assert limits.sanitise("a\x00b", limits.BODY) == "ab"
    assert limits.sanitise("caf\udce9", limits.NAME) == "caf\ufffd"
    cut = limits.sanitise("x" * 250_000, limits.BODY)
    assert len(cut) <= limits.BODY.chars and cut.endswith("[truncated: 250,000 characters]")
    short = limits.sanitise("s" * 301, limits.SUBJECT)
    assert len(short) == 300 and short.endswith("…")
    assert limits.sanitise("ok", limits.SUBJECT) == "ok"


def test_ids_past_integer_find_nothing() -> None:
    assert limits.fits_id(1) and limits.fits_id(2**31 - 1)
    assert not any(limits.fits_id(v) for v in (0, -1, 2**31, 2**63, True, "1", None))


def test_read_bounded_refuses_what_would_hang(tmp_path: Path) -> None:
    from supportdesk.errors import UsageError

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opening a FIFO for reading blocks until a writer comes: never opened
    for path, message in ((fifo, "not a regular file"), ("/dev/zero", "not a regular file"),
                          (tmp_path, "is a directory"), (tmp_path / "nope", "cannot read"),
                          ("a\x00b", "cannot read")):  # fmt: skip
        with pytest.raises(UsageError, match=message):
            limits.read_bounded(path, "file", 100)
    big = tmp_path / "big"
    big.write_bytes(b"x" * 101)
    with pytest.raises(UsageError, match="101 bytes, at most 100 bytes"):
        limits.read_bounded(big, "file", 100)
    big.write_bytes(b"x" * 100)
    assert limits.read_bounded(big, "file", 100) == b"x" * 100
