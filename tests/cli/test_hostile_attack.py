"""What an attack on the hostile edge (issue 12) found after the first round of fixes, one
regression test per finding; each failed before its fix.

- `init --db X` took others' access away from X before it knew X was a database: a device
  (`/dev/null` became 0660, as root), a FIFO, a folder (`init --db /var/www`), a text file
  (`/etc/passwd`), even though init then refused it.
- A read (`queue`, `ticket show`) on a `--db` that does not exist left an empty file there.
- `ticket redact-subject` / `redact-description` took any `int()`: "+1" and "١" (an
  Arabic-Indic one) redacted ticket #1, irreversibly, where every other id is ASCII digits.
- Durations and opening hours took any Unicode digit ("１h", "０８:00-18:00"), and phone
  numbers kept them ("+٢٧ ..." was stored, matching nothing a desk dials).
- `init --group ""` (an unset shell variable) silently made a private desk.
- The demo's lock file was 0644 (demo's other files are 0600).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from supportdesk import file_modes
from supportdesk.cli import EXIT_OK, main
from supportdesk.core.desk import Desk
from tests.helpers.desk import dump as dump_store
from tests.helpers.desk import new_ticket
from tests.helpers.postgres import PG_URL, need_postgres
from tests.helpers.samples import kaggle_csv, kaggle_row

pytestmark = pytest.mark.timeout(180)


def run(env: dict[str, str], *args: str, stdin: str = "") -> tuple[int, str, str]:
    """The CLI in-process (same argv, stdin, environment and exit code as a process)."""
    runner = CliRunner()
    with runner.isolation(input=stdin, env=env) as (out, err, _both):
        try:
            main(list(args))
            code = EXIT_OK
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        return code, out.getvalue().decode(), err.getvalue().decode()


def one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("supportdesk: "), err
    assert "Traceback" not in err
    return lines[0]


def dump(desk: Desk) -> dict[str, list[tuple[Any, ...]]]:
    return dump_store(desk.store)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


# -- init on something that is no database ------------------------------------------------
def _not_a_database(kind: str, tmp_path: Path) -> Path:
    target = tmp_path / f"target-{kind}"
    if kind == "fifo":  # stands in for a device: never chmod /dev/null in a test
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
    else:
        target.write_text("root:x:0:0:root:/root:/bin/sh\n")
    os.chmod(target, 0o755 if kind == "folder" else 0o644)
    return target


@pytest.mark.parametrize("kind", ["fifo", "folder", "text"])
def test_init_on_a_file_that_is_no_database_changes_nothing(
    kind: str, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    target = _not_a_database(kind, tmp_path)
    before = _mode(target)
    content = target.read_bytes() if kind == "text" else None
    key = tmp_path / "new.key"
    env = dict(cli_env, SUPPORTDESK_AUDIT_KEY=str(key))
    p = subprocess.run(
        [sys.executable, "-m", "supportdesk", "--db", str(target), "init", "--admin", "lena"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        umask=0o022,
    )
    assert p.returncode == 2, (p.returncode, p.stderr)
    line = one_line(p.stderr)
    assert str(target) in line and "nothing was changed" in line
    assert _mode(target) == before  # was 0640 / 0750: others' access taken away
    if content is not None:
        assert target.read_bytes() == content
    assert not key.exists()
    assert not Path(str(target) + "-writer.lock").exists()


def test_tighten_leaves_what_is_not_a_file_or_folder(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    os.chmod(fifo, 0o666)
    assert file_modes.tighten(fifo) is None
    assert _mode(fifo) == 0o666
    plain = tmp_path / "plain"
    plain.write_text("x")
    os.chmod(plain, 0o644)
    assert file_modes.tighten(plain) == ("0644", "0640")  # a file is still tightened


def test_not_a_database_knows_an_sqlite_file(desk: Desk, tmp_path: Path) -> None:
    assert file_modes.not_a_database(tmp_path / "missing.db") is None
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    assert file_modes.not_a_database(empty) is None
    path = desk.store.target.sqlite_path
    if path:  # the SQLite desk of the fixture (PostgreSQL has no file)
        assert file_modes.not_a_database(Path(path)) is None


# -- a read creates no database -----------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [("queue",), ("ticket", "show", "1"), ("account", "list"), ("audit", "verify")],
    ids=lambda a: "-".join(a),
)
def test_a_read_on_a_missing_database_creates_no_file(
    args: tuple[str, ...], tmp_path: Path, cli_env: dict[str, str]
) -> None:
    typo = tmp_path / "dsek.db"
    code, _out, err = run(dict(cli_env, SUPPORTDESK_DB=str(typo)), *args)
    assert code == 1
    assert f"no database at {typo}: run `supportdesk init`" in one_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in tmp_path.iterdir() if not p.name.startswith("dsek")
    )
    assert not typo.exists() and not Path(str(typo) + "-writer.lock").exists()


# -- ids, durations, hours and phone numbers are ASCII digits -----------------------------
@pytest.mark.parametrize("command", ["redact-subject", "redact-description"])
@pytest.mark.parametrize("value", ["+1", "\u0661", "\uff11", "0", "9223372036854775808"])
def test_redaction_takes_ids_as_every_other_command_does(
    desk: Desk, cli_env: dict[str, str], command: str, value: str
) -> None:
    new_ticket(desk, "My password is hunter2", description="and my PIN is 1234")
    before = dump(desk)
    code, _out, err = run(cli_env, "ticket", command, value, "--reason", "pasted a secret")
    assert code == 2, (code, err)
    assert "must be a positive number below 2^63" in one_line(err)
    assert dump(desk) == before  # the subject was redacted for "+1" and "١"


@pytest.mark.parametrize(
    "args",
    [
        ("sla", "due", "--calendar", "office", "--from", "2026-11-20T09:00Z", "--add", "\uff11h"),
        ("sla", "due", "--calendar", "office", "--from", "2026-11-20T09:00Z", "--add", "\u0661d"),
        ("incident", "open", "--server", "web-cpt-14", "--title", "t", "--cadence", "\uff11h"),
        (
            "incident",
            "open",
            "--server",
            "web-cpt-14",
            "--title",
            "t",
            "--cadence",
            "\u0663\u0660m",
        ),
    ],
    ids=["due-fullwidth", "due-arabic", "cadence-fullwidth", "cadence-arabic"],
)
def test_durations_are_ascii_digits(
    desk: Desk, cli_env: dict[str, str], args: tuple[str, ...]
) -> None:
    before = dump(desk)
    code, out, err = run(cli_env, *args)
    assert code == 2, (code, out, err)
    assert "duration" in one_line(err)
    assert dump(desk) == before


def test_opening_hours_are_ascii_digits(tmp_path: Path, cli_env: dict[str, str]) -> None:
    from supportdesk.core.policy import PRESETS_DIR

    text = (PRESETS_DIR / "demo.toml").read_text("utf-8")
    policy = tmp_path / "p.toml"
    policy.write_text(text.replace('mon = ["08:00-18:00"]', 'mon = ["\uff10\uff18:00-18:00"]', 1))
    code, out, err = run(cli_env, "policy", "check", str(policy))
    assert code == 2, (code, out, err)
    assert "calendars.office.mon" in one_line(err)


@pytest.mark.parametrize("phone", ["+\u0662\u0667 21 555 0199", "\uff10\uff12\uff11 555 0199"])
def test_phone_numbers_are_ascii_digits(desk: Desk, cli_env: dict[str, str], phone: str) -> None:
    before = dump(desk)
    code, _out, err = run(
        cli_env, "contact", "add", "--account", "bluefin", "--name", "Ann Lee",
        "--phone", phone, "--role", "authorized",
    )  # fmt: skip
    assert code == 2, (code, err)
    assert "not a phone number" in one_line(err)
    assert dump(desk) == before


# -- init --group "" ----------------------------------------------------------------------
def test_an_empty_group_is_refused_before_anything_is_made(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    folder = tmp_path / "desk"
    env = dict(cli_env, SUPPORTDESK_DB=str(folder / "d.db"))
    env["SUPPORTDESK_AUDIT_KEY"] = str(tmp_path / "k.key")
    code, _out, err = run(env, "init", "--admin", "lena", "--group", " ")
    assert code == 2 and "--group: give a group name or number" in one_line(err)
    assert not folder.exists() and not (tmp_path / "k.key").exists()


# -- the demo's lock ----------------------------------------------------------------------
def test_every_file_the_demo_makes_is_private_under_umask_000(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    env = dict(cli_env, SUPPORTDESK_AUDIT_KEY=str(tmp_path / "k.key"))
    env.pop("SUPPORTDESK_DB", None)
    p = subprocess.run(
        [sys.executable, "-m", "supportdesk", "--db", str(tmp_path / "demo.db"), "demo",
         "--tickets", "5", "--no-open"],
        env=env, capture_output=True, text=True, timeout=170, umask=0,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    modes = {f.name: _mode(f) for f in tmp_path.iterdir() if f.is_file()}
    assert "demo.db.demo-lock" in modes
    assert all(m == 0o600 for m in modes.values()), modes


# -- a policy nested too deeply -----------------------------------------------------------
@pytest.mark.parametrize(
    "nesting",
    ["[" * 2000 + "]" * 2000, "[" * 100_000 + "]" * 100_000, "{a=" * 5000 + "1" + "}" * 5000],
    ids=["arrays-2k", "arrays-100k", "tables-5k"],
)
def test_a_policy_nested_too_deeply_is_one_line(
    desk: Desk, cli_env: dict[str, str], tmp_path: Path, nesting: str
) -> None:
    """tomllib recurses once per level: this was a RecursionError ("internal error", 70)."""
    from supportdesk.core.policy import PRESETS_DIR

    policy = tmp_path / "deep.toml"
    policy.write_text((PRESETS_DIR / "demo.toml").read_text("utf-8") + f"\nx = {nesting}\n")
    env = dict(cli_env, SUPPORTDESK_DEBUG="1")  # an unexpected exception escapes, not "70"
    before = dump(desk)
    for command in ("check", "load"):
        code, _out, err = run(env, "policy", command, str(policy))
        assert code == 2, (command, code, err[-500:])
        assert one_line(err) == f"supportdesk: {policy}: invalid TOML: values nested too deeply"
    assert dump(desk) == before


# -- a PostgreSQL database that does not exist --------------------------------------------
@pytest.mark.postgres
def test_a_missing_postgresql_database_is_not_sent_to_init(tmp_path: Path) -> None:
    """It said "has no supportdesk schema: run `supportdesk init`", and init then failed
    with 'database ... does not exist': the schema check took any "does not exist". Now the
    line names the missing database, and init creates it (tests/cli/test_init_where.py)."""
    need_postgres()
    url = PG_URL.rsplit("/", 1)[0] + "/no_such_db_" + os.urandom(4).hex()
    env = dict(os.environ, SUPPORTDESK_DB=url, SUPPORTDESK_AUDIT_KEY=str(tmp_path / "k.key"))
    code, _out, err = run(env, "--as", "lena", "queue")
    line = one_line(err)
    assert code == 1 and "has no supportdesk schema" not in line, line
    assert line.startswith('supportdesk: PostgreSQL has no database "no_such_db_'), line


# -- searches take % _ and \ literally ----------------------------------------------------
@pytest.mark.parametrize(
    ("query", "found"),
    [("%", ["50% off"]), ("_", ["under_score"]), ("\\", ["back\\slash"]), ("0%", ["50% off"])],
    ids=["percent", "underscore", "backslash", "digit-percent"],
)
def test_a_search_takes_like_characters_literally_on_both_databases(
    desk: Desk, cli_env: dict[str, str], query: str, found: list[str]
) -> None:
    """`queue --search %` (or _) found every ticket, and a backslash was PostgreSQL's LIKE
    escape but SQLite's letter: the two databases answered differently."""
    import json

    from supportdesk.services import directory

    for subject in ("50% off", "under_score", "back\\slash", "plain words"):
        new_ticket(desk, subject)
    directory.add_account(desk, "acme", found[0], "gold")
    code, out, err = run(cli_env, "queue", "--search", query, "--json")
    assert code == 0, err
    assert [row["subject"] for row in json.loads(out)] == found
    code, out, err = run(cli_env, "account", "list", "--search", query, "--json")
    assert code == 0, err
    assert [row["company"] for row in json.loads(out)] == found


# -- init with a file that is no audit key --------------------------------------------------
def test_init_with_a_file_that_is_no_key_changes_nothing_and_can_be_retried(
    db_url: str, tmp_path: Path
) -> None:
    """It chmod'ed the file (as root, --audit-key /etc/passwd), made the schema, then refused
    the key; the next init found a schema without a key and refused for good."""
    not_a_key = tmp_path / "passwd"
    not_a_key.write_text("root:x:0:0:root:/root:/bin/sh\n")
    os.chmod(not_a_key, 0o644)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTDESK_")}
    env.update(SUPPORTDESK_DB=db_url, SUPPORTDESK_DEBUG="1")
    code, _out, err = run(env, "--audit-key", str(not_a_key), "init", "--admin", "lena")
    assert code == 1 and "is not a supportdesk key" in one_line(err)
    assert _mode(not_a_key) == 0o644
    assert not_a_key.read_text() == "root:x:0:0:root:/root:/bin/sh\n"
    if not db_url.startswith("postgresql"):
        assert not Path(db_url).exists()
    good = tmp_path / "good.key"
    code, out, err = run(env, "--audit-key", str(good), "init", "--admin", "lena")
    assert code == 0, err
    assert good.exists() and "schema empty -> " in out


# -- import --timezone that names a folder of zones, or is too long for a file name -------
@pytest.mark.parametrize("zone", ["America", "Etc", "A" * 5000], ids=["folder", "etc", "long"])
def test_an_import_zone_that_is_no_zone_file_is_one_line(
    desk: Desk, cli_env: dict[str, str], tmp_path: Path, zone: str
) -> None:
    """zoneinfo raised IsADirectoryError / 'File name too long' (OSError), which no one
    caught: 'internal error', exit 70."""
    export = tmp_path / "export.csv"
    export.write_text(kaggle_csv(kaggle_row("1", "a@x.example")))
    before = dump(desk)
    env = dict(cli_env, SUPPORTDESK_DEBUG="1")
    code, _out, err = run(env, "import", str(export), "--timezone", zone)
    assert code == 2, (code, err[-300:])
    assert "unknown time zone" in one_line(err)
    assert dump(desk) == before


# -- a path longer than the system allows ---------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [("queue",), ("init", "--admin", "lena"), ("doctor",), ("demo", "--no-open", "--tickets", "5")],
    ids=lambda a: a[0],
)
def test_a_db_name_too_long_for_the_system_is_one_line(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    """os.stat raised 'File name too long' (OSError) in the store: a traceback with
    SUPPORTDESK_DEBUG=1, 'internal error' (70) without."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTDESK_")}
    env.update(SUPPORTDESK_DEBUG="1", SUPPORTDESK_AUDIT_KEY=str(tmp_path / "k.key"))
    long_db = tmp_path / ("L" * 300 + ".db")
    nested = tmp_path / ("L" * 300) / "demo.db"
    db = nested if args[0] == "demo" else long_db
    code, _out, err = run(env, "--db", str(db), "--as", "lena", *args)
    assert code in (1, 2), (code, err[-300:])
    assert "File name too long" in one_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_an_audit_key_name_too_long_is_one_line_and_creates_nothing(
    db_url: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTDESK_")}
    env.update(SUPPORTDESK_DB=db_url, SUPPORTDESK_DEBUG="1")
    key = tmp_path / ("K" * 300) / "audit.key"
    code, _out, err = run(env, "--audit-key", str(key), "init", "--admin", "lena")
    assert code == 2, (code, err[-300:])
    assert "File name too long" in one_line(err)
    if not db_url.startswith("postgresql"):
        assert not Path(db_url).exists()
