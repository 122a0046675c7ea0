"""`supportdesk import`: other helpdesks' exports (a Kaggle-style ticket table, a ServiceNow
event log) become accounts, contacts and tickets with their history and SLA clocks, on both
databases; odd rows are kept with a note, bad ones named by line; nothing twice; all or
nothing. The exports here are written by the tests (the real ones in ../shared/data are for
trying it by hand and for benchmarks/bench_import.py)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from supportdesk.core import audit
from supportdesk.core.desk import Desk
from supportdesk.errors import NotAllowed, NothingToDo, UsageError
from supportdesk.services import sla, tickets
from supportdesk.services.intake import importer
from supportdesk.services.intake.export_formats import read_export
from supportdesk.services.intake.export_records import parse_time
from supportdesk.services.reports import report
from tests.helpers.cli import one_line_error, run
from tests.helpers.desk import DeskFactory
from tests.helpers.samples import kaggle_csv, kaggle_row

UTC_ZONE = ZoneInfo("UTC")
NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def kaggle_sample() -> str:
    return kaggle_csv(
        kaggle_row("1", "carrollallison@example.com"),  # open, no times at all
        kaggle_row(
            "2",
            "clarkeashley@example.com",
            "Pending Customer Response",
            **{"Ticket Channel": "Social media", "First Response Time": "2023-06-01 12:15:36"},
        ),
        kaggle_row(
            "3",
            "gonzalestracy@example.com",
            "Closed",
            **{
                "Ticket Type": "Refund request",
                "Resolution": "Refund sent.",
                "First Response Time": "2023-06-01 09:00:00",
                "Time to Resolution": "2023-06-01 15:00:00",
                "Customer Satisfaction Rating": "4.0",
            },
        ),
        kaggle_row(  # resolved before its first response: kept, with a note
            "4",
            "bradleyolson@example.com",
            "Closed",
            **{
                "Ticket Priority": "Low",
                "First Response Time": "2023-06-01 07:29:00",
                "Time to Resolution": "2023-06-01 01:57:00",
            },
        ),
    )


SN_HEADER = [
    "number",
    "incident_state",
    "active",
    "reassignment_count",
    "sys_mod_count",
    "made_sla",
    "caller_id",
    "opened_at",
    "sys_updated_at",
    "contact_type",
    "category",
    "subcategory",
    "u_symptom",
    "priority",
    "assignment_group",
    "resolved_at",
    "closed_at",
]


def sn_csv(*changes: tuple[str, ...]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SN_HEADER)
    writer.writerows(changes)
    return out.getvalue()


def sn_sample() -> str:
    """Two incidents in a day-first spreadsheet format. INC1 (moderate): answered after 1 h,
    waits on the caller 12:00-14:00, resolved at 15:00 (5 h open, 3 h counted). INC2
    (critical): answered after 2.5 h, resolved after 9 h. Rows are not in change order."""
    inc1 = ("INC1", "Caller 7", "01-03-2026 10:00", "Phone", "Category 55", "Subcategory 170")
    inc2 = ("INC2", "Caller 9", "01-03-2026 09:00", "Self service", "Category 9", "?")

    def row(inc: tuple[str, ...], state: str, mod: int, at: str, prio: str, group: str,
            resolved: str = "?") -> tuple[str, ...]:  # fmt: skip
        number, caller, opened, channel, cat, sub = inc
        return (number, state, "TRUE", "0", str(mod), "TRUE", caller, opened, at, channel,
                cat, sub, "Symptom 72", prio, group, resolved, "?")  # fmt: skip

    return sn_csv(
        row(inc1, "New", 0, "01-03-2026 10:05", "3 - Moderate", "Group 56"),
        row(inc1, "Awaiting User Info", 2, "01-03-2026 12:00", "3 - Moderate", "Group 70"),
        row(inc1, "Active", 1, "01-03-2026 11:00", "3 - Moderate", "Group 56"),
        row(inc1, "Active", 3, "01-03-2026 14:00", "3 - Moderate", "Group 70"),
        row(
            inc1, "Resolved", 4, "01-03-2026 15:00", "3 - Moderate", "Group 70", "01-03-2026 15:00"
        ),
        row(inc1, "Closed", 5, "06-03-2026 15:00", "3 - Moderate", "Group 70", "01-03-2026 15:00"),
        row(inc2, "Active", 0, "01-03-2026 11:30", "1 - Critical", "Group 9"),
        row(inc2, "Resolved", 1, "01-03-2026 18:00", "1 - Critical", "Group 9", "01-03-2026 18:00"),
    )


def parse(text: str, fmt: str = "auto", name: str = "export.csv"):  # type: ignore[no-untyped-def]
    return read_export(text, name=name, fmt=fmt, zone=UTC_ZONE, now=NOW)


def ticket_count(desk: Desk) -> int:
    return int(desk.store.query("SELECT count(*) FROM tickets")[0][0])


def audit_count(desk: Desk) -> int:
    return int(desk.store.query("SELECT count(*) FROM audit")[0][0])


# -- reading exports (pure) ----------------------------------------------------------------
def test_kaggle_rows_become_records_in_the_desks_words() -> None:
    export = parse(kaggle_sample())
    assert export.format == "kaggle" and export.rows == 4 and not export.rejected
    one, two, three, four = export.records
    assert (one.status.value, one.created_at, one.start_known) == ("new", NOW, True)
    assert one.subject == "Product setup: GoPro Hero"
    assert one.description == "I'm having an issue with the GoPro Hero. Please assist."
    assert one.account_key == "carrollallison" and one.contact_email == "carrollallison@example.com"
    assert (two.status.value, two.channel.value, two.start_known) == (
        "pending_customer",
        "portal",
        False,
    )
    assert two.created_at == two.first_response_at == datetime(2023, 6, 1, 12, 15, 36, tzinfo=UTC)
    assert (three.status.value, three.category.value, three.resolution_code) == (
        "closed",
        "billing",
        "fixed",
    )
    assert [h.kind.value for h in three.history] == ["created", "status", "reply", "status", "note"]
    assert three.history[2].body == "Refund sent." and three.history[2].visible
    assert three.history[4].body == "Customer satisfaction in the export: 4 of 5"
    # the inconsistent row is kept: its resolution is its first response
    assert four.first_response_at == four.resolved_at == four.created_at
    kinds = {(p.ref, p.kind) for p in export.notes}
    assert ("4", "resolved_before_response") in kinds
    assert ("2", "channel") in kinds
    assert ("1", "no_created_time") not in kinds and ("3", "no_created_time") in kinds


def test_bad_kaggle_rows_are_named_by_line_and_field() -> None:
    text = kaggle_csv(
        kaggle_row("1", "a@example.com"),
        kaggle_row("2", "b@example.com", **{"Ticket Priority": "Urgent"}),
        kaggle_row("1", "c@example.com"),  # the same id again
        kaggle_row("3", "d@example.com", **{"First Response Time": "yesterday"}),
        kaggle_row("4", "not-an-address"),
        kaggle_row("5", "e@example.com", "Closed"),  # closed, but no resolution time
    )
    export = parse(text)
    assert [r.ref for r in export.records] == ["1"]
    bad = {p.line: p.text for p in export.rejected}
    assert bad[3].startswith("Ticket Priority: unknown priority 'Urgent' (one of: Critical")
    assert bad[4] == "ticket id 1 again"
    assert bad[5] == "First Response Time: not a time: 'yesterday'"
    assert bad[6].startswith("Customer Email: not an e-mail address")
    assert bad[7] == "Time to Resolution: empty for a closed ticket"


def test_a_quoted_description_over_several_lines_keeps_the_line_numbers_right() -> None:
    text = kaggle_csv(
        kaggle_row("1", "a@example.com", **{"Ticket Description": "one\ntwo\nthree"}),
        kaggle_row("2", "b@example.com", **{"Ticket Priority": "Urgent"}),
    )
    export = parse(text)
    assert export.records[0].description == "one\ntwo\nthree"
    assert export.rejected[0].line == 5


def test_servicenow_changes_become_one_ticket_each_with_their_history() -> None:
    export = parse(sn_sample(), name="incidents.csv")
    assert export.format == "servicenow" and export.rows == 8 and not export.rejected
    inc1, inc2 = export.records
    at = lambda h, m=0: datetime(2026, 3, 1, h, m, tzinfo=UTC)  # noqa: E731
    assert inc1.subject == "INC1: Category 55 · Subcategory 170 · Symptom 72"
    assert (inc1.priority.value, inc1.channel.value, inc1.status.value) == (
        "medium",
        "phone",
        "closed",
    )
    assert (inc1.created_at, inc1.first_response_at, inc1.resolved_at) == (at(10), at(11), at(15))
    assert inc1.pauses == [(at(12), at(14))]
    statuses = [(h.old, h.new) for h in inc1.history if h.kind.value == "status"]
    assert statuses == [
        ("new", "open"),
        ("open", "pending_customer"),
        ("pending_customer", "open"),
        ("open", "resolved"),
        ("resolved", "closed"),
    ]
    assert any(h.body == "reassigned to Group 70" for h in inc1.history)
    assert inc1.account_key == "caller-7" and inc1.contact_email is None
    assert (inc2.priority.value, inc2.channel.value) == ("critical", "portal")
    assert (inc2.first_response_at, inc2.resolved_at) == (at(11, 30), at(18))


def test_exports_of_no_known_kind_fail_with_one_line() -> None:
    with pytest.raises(UsageError, match=r"^x.csv:1: columns of no known export"):
        parse("a,b,c\n1,2,3\n", name="x.csv")
    with pytest.raises(UsageError, match=r"^x.csv: the file is empty$"):
        parse("", name="x.csv")
    with pytest.raises(
        UsageError, match=r"^x.csv:1: a kaggle export needs the columns Customer Name, Ticket Type"
    ):
        parse("Ticket ID,Customer Email\n1,a@example.com\n", fmt="kaggle", name="x.csv")


def test_times_day_first_iso_and_offsets() -> None:
    zone = ZoneInfo("Europe/Amsterdam")
    assert parse_time("29-02-2016 01:16", zone) == datetime(2016, 2, 29, 1, 16, tzinfo=zone)
    assert parse_time("2023-06-01 12:15:36", zone).utcoffset() == timedelta(hours=2)
    assert parse_time("2023-06-01T12:15:36+00:00", zone) == datetime(
        2023, 6, 1, 12, 15, 36, tzinfo=UTC
    )
    with pytest.raises(ValueError):
        parse_time("01/31/2020 3pm", zone)


# -- importing (both databases) ------------------------------------------------------------
def test_kaggle_import_makes_accounts_contacts_tickets_clocks_and_audit(
    desk: Desk, make_desk: DeskFactory
) -> None:
    # the desk at the moment the export is read: on the real clock, a ticket read at NOW (a
    # Sunday) was past its 4 business hours from 10:00 UTC the next day, and this failed then
    desk = make_desk("lena", at=NOW)
    before = ticket_count(desk)
    r = importer.import_export(desk, parse(kaggle_sample()))
    assert (r.imported, r.accounts_created, r.contacts_created, r.accounts_matched) == (4, 4, 4, 0)
    assert r.by_status == {"new": 1, "pending_customer": 1, "closed": 2}
    assert ticket_count(desk) == before + 4
    ids = range(r.first_ticket or 0, (r.last_ticket or 0) + 1)
    fresh, waiting, closed, inconsistent = (tickets.show(desk, i) for i in ids)  # file order
    assert (fresh.status, fresh.account, fresh.contact) == (
        "new",
        "carrollallison",
        "Marisa Obrien",
    )
    assert fresh.subject == "Product setup: GoPro Hero"
    # live work arrives now: its clocks start at the import
    clocks = {c.name: c for c in sla.show(desk, fresh.id).clocks}
    assert clocks["respond"].state in ("running", "warning") and clocks["resolve"].state != "none"
    assert fresh.created_at == NOW  # the time the export was read
    # a closed ticket whose start the export does not give counts no SLA outcome
    assert (closed.status, closed.resolution_code, closed.category) == (
        "closed",
        "fixed",
        "billing",
    )
    assert {c.state for c in sla.show(desk, closed.id).clocks} == {"none"}
    said = [e.body for e in closed.events if e.kind == "sla"]
    assert said == [
        f"{name} clock not tracked: the export does not say when the ticket began"
        for name in ("respond", "resolve")
    ]
    assert [e.kind for e in closed.events if e.kind != "sla"] == [
        "created",
        "status",
        "reply",
        "status",
        "note",
    ]
    assert inconsistent.first_response_at == inconsistent.resolved_at
    assert (waiting.status, waiting.channel) == ("pending_customer", "portal")
    assert {c.name: c.state for c in sla.show(desk, waiting.id).clocks} == {
        "respond": "none",
        "resolve": "paused",
    }
    with desk.store.read() as s:
        result = audit.verify(s, desk.audit_key)
    assert result.ok
    actions = [a for (a,) in desk.store.query("SELECT action FROM audit ORDER BY seq")]
    assert actions[-5:] == ["ticket.import"] * 4 + ["desk.import"]


def test_customers_already_on_the_desk_are_matched_by_e_mail(desk: Desk) -> None:
    text = kaggle_csv(
        kaggle_row("10", "Priya@Bluefin.example", name="Priya N."),  # bluefin's primary
        kaggle_row("11", "bluefin@elsewhere.example", name="Someone Else"),  # id taken
        kaggle_row("12", "bluefin@other.example", name="Third"),
    )
    r = importer.import_export(desk, parse(text), plan="silver")
    assert (r.accounts_matched, r.accounts_created) == (1, 2)
    t = [tickets.show(desk, i) for i in range(r.first_ticket or 0, (r.last_ticket or 0) + 1)]
    assert [(x.account, x.contact) for x in t] == [
        ("bluefin", "Priya Naidoo"),
        ("bluefin-2", "Someone Else"),
        ("bluefin-3", "Third"),
    ]
    plans = dict(desk.store.query("SELECT id, plan FROM accounts"))
    assert (plans["bluefin"], plans["bluefin-2"]) == ("gold", "silver")


def test_importing_again_adds_only_what_is_new(desk: Desk) -> None:
    importer.import_export(desk, parse(kaggle_sample()))
    count = ticket_count(desk)
    with pytest.raises(NothingToDo, match="were imported before"):
        importer.import_export(desk, parse(kaggle_sample()))
    more = kaggle_sample() + "\n".join(
        ",".join(f'"{v}"' for v in kaggle_row("5", "new@example.com")) for _ in [0]
    )
    r = importer.import_export(desk, parse(more))
    assert (r.imported, r.already, r.accounts_created) == (1, 4, 1)
    assert ticket_count(desk) == count + 1


def test_a_bad_row_fails_the_whole_import_unless_skipped(desk: Desk) -> None:
    text = kaggle_csv(
        kaggle_row("1", "a@example.com"),
        kaggle_row("2", "b@example.com", **{"Ticket Status": "Escalated"}),
    )
    tickets_before, audit_before = ticket_count(desk), audit_count(desk)
    with pytest.raises(UsageError) as failed:
        importer.import_export(desk, parse(text, name="t.csv"))
    assert str(failed.value).startswith("t.csv:3: Ticket Status: unknown status 'Escalated'")
    assert "nothing was imported" in str(failed.value)
    assert (ticket_count(desk), audit_count(desk)) == (tickets_before, audit_before)
    r = importer.import_export(desk, parse(text, name="t.csv"), skip_bad=True)
    assert (r.imported, r.rejected, r.rejected_rows[0].line) == (1, 1, 3)


def test_a_dry_run_reports_everything_and_changes_nothing(desk: Desk) -> None:
    tickets_before, audit_before = ticket_count(desk), audit_count(desk)
    r = importer.import_export(desk, parse(kaggle_sample()), dry_run=True)
    assert (r.dry_run, r.imported, r.accounts_created) == (True, 4, 4)
    assert (ticket_count(desk), audit_count(desk)) == (tickets_before, audit_before)
    assert not desk.store.query("SELECT 1 FROM accounts WHERE id = 'carrollallison'")


def test_only_a_lead_imports(make_desk: DeskFactory, desk: Desk) -> None:
    before = ticket_count(desk)
    with pytest.raises(NotAllowed, match="importing another helpdesk's tickets is for leads"):
        importer.import_export(make_desk("amir"), parse(kaggle_sample()))
    assert ticket_count(desk) == before


def test_servicenow_import_counts_sla_outcomes_from_the_log(desk: Desk) -> None:
    """On the 24/7 plan (medium: respond 3 h, resolve 6 h; critical: 1 h, 6 h): INC1 is
    answered in 1 h and resolved in 5 h of which 2 h waited on the caller (3 h counted): both
    met. INC2 is answered after 2.5 h and resolved after 9 h: both breached."""
    r = importer.import_export(desk, parse(sn_sample()), plan="hosting-24x7")
    assert (r.imported, r.accounts_created) == (2, 2)
    first = r.first_ticket or 0
    inc1 = {c.name: c for c in sla.show(desk, first).clocks}
    inc2 = {c.name: c for c in sla.show(desk, first + 1).clocks}
    assert (inc1["respond"].state, inc1["respond"].used_s) == ("met", 3600)
    assert (inc1["resolve"].state, inc1["resolve"].used_s) == ("met", 3 * 3600)
    assert inc1["resolve"].paused_s == 2 * 3600
    assert (inc2["respond"].state, inc2["resolve"].state) == ("missed", "missed")
    assert (inc2["respond"].used_s, inc2["resolve"].used_s) == (9000, 9 * 3600)
    t = tickets.show(desk, first)
    assert (t.account, t.status, t.caller_name) == ("caller-7", "closed", "Caller 7")
    figures = report.sla_report(
        desk, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 8, tzinfo=UTC)
    ).total
    assert (figures.respond_attainment, figures.resolve_attainment) == (0.5, 0.5)
    assert (figures.respond_breached, figures.resolve_breached) == (1, 1)


# -- the command line ----------------------------------------------------------------------
def test_cli_imports_a_file_with_json_and_reports_odd_rows(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "tickets.csv"
    path.write_text(kaggle_sample(), encoding="utf-8")
    p = run(cli_env, "import", str(path), "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert (out["imported"], out["format"], out["source"]) == (4, "kaggle", "tickets.csv")
    assert {n["kind"] for n in out["notes"]} >= {"resolved_before_response", "channel"}
    again = run(cli_env, "import", str(path))
    assert again.returncode == 4
    assert one_line_error(again).endswith("were imported before")
    text = run(cli_env, "import", "-", "--dry-run", stdin=sn_sample())
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("would import 2 tickets from standard input (servicenow)")


@pytest.mark.parametrize(
    ("args", "content", "message"),
    [
        (["missing.csv"], None, "cannot read {dir}/missing.csv: No such file"),
        (["x.csv"], "a,b\n1,2\n", "x.csv:1: columns of no known export"),
        (["x.csv", "--timezone", "Mars/Olympus"], "a\n", "unknown time zone 'Mars/Olympus'"),
        (["x.csv", "--plan", "platinum"], "", "no SLA plan 'platinum'"),
        (["x.csv", "--format", "zendesk"], "a\n", "Invalid value for '--format'"),
    ],
)
def test_cli_bad_input_is_one_line_and_changes_nothing(
    cli_env: dict[str, str],
    tmp_path: Path,
    desk: Desk,
    args: list[str],
    content: str | None,
    message: str,
) -> None:
    path = tmp_path / args[0]
    if content is not None:
        path.write_text(content or kaggle_sample(), encoding="utf-8")
    before = ticket_count(desk)
    p = run(cli_env, "import", str(path), *args[1:])
    assert p.returncode == 2, p.stderr
    assert message.format(dir=tmp_path) in one_line_error(p)
    assert ticket_count(desk) == before


# -- which export: ticket ids count within one export (issue 12) ---------------------------
def other_export() -> str:
    """Another helpdesk's export that reuses ids 1-4 for other customers' tickets."""
    return kaggle_csv(
        kaggle_row("1", "ana@harbour.example", name="Ana Reyes"),
        kaggle_row("2", "ben@harbour.example", name="Ben Osei", **{"Ticket Subject": "DNS"}),
        kaggle_row("3", "cara@harbour.example", name="Cara Lind"),
        kaggle_row("4", "dan@harbour.example", name="Dan Moss", **{"Ticket Priority": "Low"}),
    )


def test_an_export_is_known_by_its_first_tickets_not_its_file() -> None:
    first = parse(kaggle_sample(), name="a.csv").identity
    assert first.startswith("auto-")
    assert parse(kaggle_sample(), name="renamed.csv").identity == first
    grown = kaggle_sample() + ",".join(f'"{v}"' for v in kaggle_row("5", "e@example.com"))
    assert parse(grown).identity == first
    newer = kaggle_sample().replace("Pending Customer Response", "Closed", 1)
    assert parse(newer).identity == first  # statuses change between exports of one desk
    assert parse(other_export()).identity != first
    assert parse(sn_sample()).identity != first


def test_two_exports_that_reuse_ticket_ids_both_import(desk: Desk) -> None:
    a = importer.import_export(desk, parse(kaggle_sample(), name="a.csv"))
    b = importer.import_export(desk, parse(other_export(), name="b.csv"))
    assert (a.imported, b.imported, b.already, b.skipped) == (4, 4, 0, ())
    assert a.export_key != b.export_key
    rows = desk.store.query("SELECT export_key, ref FROM imported_tickets ORDER BY ticket_id")
    assert [r for _k, r in rows] == ["1", "2", "3", "4"] * 2
    assert {k for k, _r in rows} == {a.export_key, b.export_key}
    count = ticket_count(desk)
    for text, name in ((kaggle_sample(), "moved/a-copy.csv"), (other_export(), "b.csv")):
        with pytest.raises(NothingToDo, match=r"were imported before$"):
            importer.import_export(desk, parse(text, name=name))
    assert ticket_count(desk) == count


def test_what_is_skipped_is_listed_with_the_ticket_and_why(desk: Desk) -> None:
    a = importer.import_export(desk, parse(kaggle_sample()))
    first = a.first_ticket or 0
    # another export: its ticket 3 is the very ticket the first export had as 3
    b_text = other_export().replace("cara@harbour.example", "gonzalestracy@example.com")
    b_text = b_text.replace("Cara Lind", "Marisa Obrien")
    b = importer.import_export(desk, parse(b_text), plan="silver")
    assert (b.imported, b.already) == (3, 1)
    (skip,) = b.skipped
    assert (skip.ref, skip.ticket, skip.reason) == ("3", first + 2, "same_ticket")
    assert f"imported before as #{first + 2}" in skip.text
    assert json.loads(json.dumps(b.to_json()))["skipped"][0]["reason"] == "same_ticket"


def test_the_same_first_tickets_with_other_ones_after_them_say_so(desk: Desk) -> None:
    """A file whose first tickets are the first export's is taken for it; an id of it that
    names another ticket is not imported silently: it is listed as differing, and naming the
    export with --source imports it."""
    importer.import_export(desk, parse(kaggle_sample()))
    text = kaggle_sample().replace("bradleyolson@example.com", "zoe@harbour.example")
    with pytest.raises(NothingToDo, match=r"\(1 of them with another customer or subject"):
        importer.import_export(desk, parse(text))
    count = ticket_count(desk)
    r = importer.import_export(desk, parse(text), source="harbour 2026-12")
    assert (r.imported, r.already, r.export_key) == (1, 3, "harbour 2026-12")
    assert {s.reason for s in r.skipped} == {"same_ticket"}
    assert ticket_count(desk) == count + 1
    with pytest.raises(NothingToDo):
        importer.import_export(desk, parse(text), source="harbour 2026-12")
    with pytest.raises(UsageError, match=r"^--source 'x\\n': 1 to 64 letters"):
        importer.import_export(desk, parse(text), source="x\n")


def test_imports_from_before_exports_had_an_identity_are_recognised(
    desk: Desk, db_url: str, key_path: Path
) -> None:
    """Import, take the schema back to 0007 (imported rows lose their export), upgrade it
    again: the same export is still nothing new, another one reusing the ids imports."""
    from alembic import command
    from alembic.config import Config

    import supportdesk
    from supportdesk.core.clock import Clock
    from supportdesk.services.admin import setup
    from supportdesk.store import HEAD_REVISION, Store

    importer.import_export(desk, parse(kaggle_sample()))
    importer.import_export(desk, parse(sn_sample()))
    desk.store.dispose()
    store = Store(db_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(supportdesk.__file__).parent / "migrations"))
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007")
    assert store.schema_revision() == "0007"
    store.dispose()
    old = Desk(Store(db_url), "lena", Clock(), key_path)
    assert setup.init_database(old, admin="lena").revision_after == HEAD_REVISION
    assert old.store.query("SELECT count(*) FROM imported_tickets WHERE export_key IS NULL") == [
        (6,)
    ]
    count = ticket_count(old)
    for text in (kaggle_sample(), sn_sample()):
        with pytest.raises(NothingToDo, match=r"were imported before$"):
            importer.import_export(old, parse(text, name="renamed.csv"))
    assert ticket_count(old) == count
    r = importer.import_export(old, parse(other_export()))
    assert (r.imported, r.already) == (4, 0)
    old.store.dispose()


def test_cli_lists_skipped_ids_and_refuses_a_bad_source(
    cli_env: dict[str, str], tmp_path: Path, desk: Desk
) -> None:
    (tmp_path / "a.csv").write_text(kaggle_sample(), encoding="utf-8")
    assert run(cli_env, "import", str(tmp_path / "a.csv")).returncode == 0
    moved = tmp_path / "elsewhere" / "renamed.csv"
    moved.parent.mkdir()
    moved.write_text(kaggle_sample(), encoding="utf-8")
    again = run(cli_env, "import", str(moved))
    assert again.returncode == 4
    assert one_line_error(again).endswith("tickets of renamed.csv were imported before")
    both = kaggle_sample() + ",".join(f'"{v}"' for v in kaggle_row("9", "new@example.com"))
    p = run(cli_env, "import", "-", stdin=both)
    assert p.returncode == 0, p.stderr
    assert "skipped 4 tickets the desk has already" in p.stdout
    assert "    1: imported before from this export as #" in p.stdout
    b = run(cli_env, "import", "-", "--json", stdin=other_export())
    out = json.loads(b.stdout)
    assert (out["imported"], out["skipped"], out["export_key"][:5]) == (4, [], "auto-")
    before = ticket_count(desk)
    bad = run(cli_env, "import", str(moved), "--source", "\x1b[2J")
    assert bad.returncode == 2
    assert one_line_error(bad).startswith("supportdesk: --source '\\x1b[2J': 1 to 64")
    assert ticket_count(desk) == before
