"""`supportdesk import`: another helpdesk's ticket export (or the desk's own), and the report
of what it did; `supportdesk export`: the desk's own export, files and all."""

from __future__ import annotations

import contextlib
import os
import sys
from collections import Counter
from typing import Any

import click

from supportdesk.cli.env import Env, pass_env
from supportdesk.cli.output import emit, inert, json_option
from supportdesk.errors import UsageError
from supportdesk.rules.limits import MAX_EXPORT_BYTES, read_stream_bounded
from supportdesk.safe_text import clean
from supportdesk.services.intake import export_desk, importer
from supportdesk.services.intake.export_records import NOTE_SUMMARY


def _import_text(r: Any) -> str:
    verb = "would import" if r.dry_run else "imported"
    span = f" as #{r.first_ticket}-#{r.last_ticket}" if r.first_ticket is not None else ""
    lines = [
        f"{verb} {r.imported:,} tickets from {clean(r.source)} ({r.format}){span}"
        + (" (dry run: nothing was changed)" if r.dry_run else ""),
        f"  export {clean(r.export_key)} (--source names it; ticket ids count within it)",
        f"  accounts: {r.accounts_created:,} created, {r.accounts_matched:,} already on the desk;"
        f" contacts created: {r.contacts_created:,}",
        *([f"  attachments: {r.attachments:,}"] if r.attachments else []),
        "  status: " + inert(", ".join(f"{k} {v:,}" for k, v in sorted(r.by_status.items()))),
    ]
    if r.already:
        lines.append(f"  skipped {r.already:,} tickets the desk has already (left as they are):")
        for p in r.skipped[:20]:
            lines.append(f"    {clean(p.ref)}: {p.text}")
        if len(r.skipped) > 20:
            lines.append(f"    {len(r.skipped) - 20:,} more (--json lists them all)")
    kinds = Counter(p.kind for p in r.notes)
    if kinds:
        lines.append("  kept, with a note in their history or here:")
        for kind, count in kinds.most_common():
            sample = [p for p in r.notes if p.kind == kind]
            refs = ", ".join(clean(p.ref) for p in sample[:5]) + (", ..." if count > 5 else "")
            what = NOTE_SUMMARY.get(kind, sample[0].text)
            lines.append(f"    {count:,} {what} (export ids {refs})")
    for p in r.rejected_rows[:20]:
        lines.append(
            f"  left out: line {p.line}"
            + (f" ({clean(p.ref)})" if p.ref else "")
            + f": {clean(p.text)}"
        )
    if len(r.rejected_rows) > 20:
        lines.append(f"  left out: {len(r.rejected_rows) - 20:,} more rows (--json lists them all)")
    return "\n".join(lines)


@click.command("import")
@click.argument("path")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "kaggle", "servicenow", "desk"]),
    default="auto",
    show_default=True,
    help="The export's layout (auto: told by its header; desk: `supportdesk export`).",
)
@click.option("--plan", help="SLA plan of the accounts it creates (default: the policy's).")
@click.option(
    "--timezone", "zone", default="UTC", show_default=True, help="Zone of times without offset."
)
@click.option("--skip-bad", is_flag=True, help="Import the other rows when some cannot be.")
@click.option("--dry-run", is_flag=True, help="Check and report everything; change nothing.")
@click.option(
    "--source",
    help="Name of the export (default: told by its first tickets, whatever the file is "
    "called); ticket ids are matched within one export.",
)
@json_option
@pass_env
def import_export(
    env: Env,
    path: str,
    fmt: str,
    plan: str | None,
    zone: str,
    skip_bad: bool,
    dry_run: bool,
    source: str | None,
    as_json: bool,
) -> None:
    """Import another helpdesk's ticket export (CSV; PATH or - for standard input): its
    customers become accounts with a primary contact (or are matched by e-mail), its tickets
    come with their history and SLA clocks. Leads only; all or nothing; importing the same
    export again (even renamed) adds only what is new, and says what it skipped. A desk's
    own export (`supportdesk export`) comes back with its files, checked byte for byte."""
    if source is not None:
        importer.check_source(source)
    desk = env.desk()

    stdin = getattr(sys.stdin, "buffer", sys.stdin)
    data = read_stream_bounded(stdin, "import", MAX_EXPORT_BYTES) if path == "-" else None
    export = importer.read_export_file(
        "standard input" if path == "-" else path, fmt=fmt, zone=zone, now=desk.now(), data=data
    )
    r = importer.import_export(
        desk, export, plan=plan, skip_bad=skip_bad, dry_run=dry_run, source=source
    )
    emit(r, as_json, lambda: _import_text(r))


@click.command("export")
@click.argument("path")
@click.option(
    "--no-bytes",
    is_flag=True,
    help="Leave the files' bytes out (their name, types, size and SHA-256 stay).",
)
@click.option("--force", is_flag=True, help="Overwrite PATH when it exists.")
@json_option
@pass_env
def export_cmd(env: Env, path: str, no_bytes: bool, force: bool, as_json: bool) -> None:
    """Write every ticket, its thread and its files (base64) to PATH, or - for standard
    output, as JSON Lines that `supportdesk import` reads back. Leads only; the file is made
    readable by its owner alone, and a failed export leaves none behind."""
    desk = env.desk()
    export_desk.require_export(desk)
    if path == "-":
        out = sys.stdout.buffer
        r = export_desk.write_export(desk, out, with_bytes=not no_bytes)
        out.flush()
        click.echo(_export_text(r, "standard output"), err=True)
        return
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise UsageError(f"{path} exists: pass --force to overwrite it") from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UsageError(f"cannot write {path}: {reason}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            r = export_desk.write_export(desk, fh, with_bytes=not no_bytes)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    emit(r, as_json, lambda: _export_text(r, clean(path)))


def _export_text(r: export_desk.ExportSummary, where: str) -> str:
    files = f"{r.attachments:,} attachments"
    if r.attachments:
        files += f" ({r.attachments_with_bytes:,} with their bytes" + (
            ")" if r.with_bytes else "; --no-bytes left the others' out)"
        )
    return (
        f"exported {r.tickets:,} tickets, {r.events:,} thread entries and {files} to {where} "
        f"({r.bytes_written:,} bytes)"
    )
