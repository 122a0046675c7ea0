"""The sender (issue 18): lease, composition, SMTP against a real aiosmtpd on loopback
(STARTTLS on a test CA, implicit TLS, AUTH, 4xx, 5xx, 535, a dropped connection), the
maildir transport, backoff, max_defer, the per-domain throttle, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import mailbox
from datetime import timedelta
from pathlib import Path

import pytest

from supportdesk.core.desk import Desk
from supportdesk.core.policy import current_policy
from supportdesk.rules.policy_parse import parse_policy
from supportdesk.services import sla
from supportdesk.services.outbox.config import ConfigError, load_config
from supportdesk.services.outbox.sending import (
    BACKOFF_S,
    compose,
    lease_one,
    send_due,
)
from supportdesk.services.outbox.transports import open_transport
from tests.helpers.desk import T0, DeskFactory
from tests.helpers.policy import POLICY
from tests.helpers.smtp import (
    DOMAIN,
    MAIL,
    PASSWORD,
    USER,
    Behaviour,
    Tls,
    queue,
    smtp_server,
    with_mail,
    write_config,
)


def row(desk: Desk, mid: int) -> dict[str, object]:
    cols = (
        "state, attempts, send_after, last_error, server_reply, lease_owner, message_id, "
        "sent_at, failed_at"
    )
    values = desk.store.query(f"SELECT {cols} FROM outbox WHERE id = ?", (mid,))[0]
    return dict(zip([c.strip() for c in cols.split(",")], values, strict=True))


def alarms(desk: Desk) -> list[tuple[object, ...]]:
    return desk.store.query("SELECT count, cleared_at IS NULL FROM mail_alarms ORDER BY id")


def run(desk: Desk, config: Path, **kw: object):
    cfg = load_config(config)
    return send_due(desk, open_transport(cfg), lease_s=cfg.lease_s, **kw)  # type: ignore[arg-type]


def test_a_reply_goes_once_over_starttls_with_auth(at: DeskFactory, tls: Tls, tmp_path: Path):
    d = at(0)
    mid = queue(d, in_reply_to="<cust-1@bluefin.example>", references=("<first@bluefin.example>",))
    with smtp_server(tls, auth=True) as srv:
        config = write_config(tmp_path, srv, tls, username=USER, password=PASSWORD)
        summary = run(d, config)
        assert (summary.sent, summary.deferred, summary.failed) == (1, 0, 0)
        again = run(d, config)  # nothing left: a second run sends nothing
        assert again.taken == 0
    assert srv.logins == [(USER, PASSWORD)]
    [got] = srv.messages
    r = row(d, mid)
    assert got.mail_from == f"bounces+{mid}@{DOMAIN}"  # VERP
    assert got.rcpt_tos == ("priya@bluefin.example",)
    m = got.message
    assert m["Message-ID"] == r["message_id"]
    assert m["From"] == f"Bluefin Support <support@{DOMAIN}>"
    assert m["To"] == "priya@bluefin.example"
    assert m["Subject"] == "Re: [#5001] Site down"
    assert m["In-Reply-To"] == "<cust-1@bluefin.example>"
    assert m["References"] == "<first@bluefin.example> <cust-1@bluefin.example>"
    assert m["Date"] is not None
    assert "We restarted PHP.\n\n-- \nThe support desk" in got.text
    assert r["state"] == "sent" and r["attempts"] == 1 and r["lease_owner"] is None
    assert str(r["server_reply"]).startswith("250 2.0.0 Ok")
    actions = [a for (a,) in d.store.query("SELECT action FROM audit WHERE entity = 'outbox'")]
    assert actions == ["mail.sent"]


def test_implicit_tls(at: DeskFactory, tls: Tls, tmp_path: Path):
    d = at(0)
    queue(d)
    with smtp_server(tls, implicit_tls=True, auth=True) as srv:
        config = write_config(tmp_path, srv, tls, security="tls", username=USER, password=PASSWORD)
        assert run(d, config).sent == 1
    assert len(srv.messages) == 1


def test_an_untrusted_certificate_is_a_transport_fault(at: DeskFactory, tls: Tls, tmp_path: Path):
    """smtplib alone would not check the certificate: the sender does, and sends nothing."""
    d = at(0)
    mid = queue(d)
    with smtp_server(tls) as srv:
        config = write_config(tmp_path, srv, None, security="starttls")  # no cafile
        summary = run(d, config)
    assert srv.messages == []
    assert "certificate" in str(summary.fault)
    r = row(d, mid)
    assert (r["state"], r["attempts"]) == ("deferred", 0)
    assert alarms(d) == [(1, 1)]


def test_535_defers_everything_and_alarms_until_a_delivery(
    at: DeskFactory, tls: Tls, tmp_path: Path
):
    d = at(0)
    first, second = queue(d), queue(d, to="ops@corvid.example")
    with smtp_server(tls, auth=True) as srv:
        bad = write_config(tmp_path, srv, tls, username=USER, password="wrong")
        summary = run(d, bad)
        assert "535" in str(summary.fault)
        assert (summary.sent, summary.deferred) == (0, 1)
        assert row(d, first)["state"] == "deferred" and row(d, first)["attempts"] == 0
        assert row(d, second)["state"] == "queued"  # not taken: the run stopped at the fault
        assert alarms(d) == [(1, 1)]
        run(d, bad)  # the second message meets the same fault: the alarm counts it
        assert alarms(d) == [(2, 1)]
        good = write_config(tmp_path, srv, tls, username=USER, password=PASSWORD)
        assert run(at(2), good).sent == 2  # the fault retry is a minute later
    assert alarms(d) == [(2, 0)]  # cleared
    assert {m.message_id for m in srv.messages} == {
        row(d, first)["message_id"],
        row(d, second)["message_id"],
    }


def test_4xx_on_rcpt_defers_with_backoff_then_max_defer_fails(
    at: DeskFactory, tls: Tls, tmp_path: Path
):
    d = at(0)
    mid = queue(d)
    with smtp_server(tls, behaviour=Behaviour(rcpt="450 4.2.1 mailbox busy")) as srv:
        config = write_config(tmp_path, srv, tls)
        assert run(d, config).deferred == 1
        r = row(d, mid)
        assert (r["state"], r["attempts"], r["last_error"]) == (
            "deferred",
            1,
            "450 4.2.1 mailbox busy",
        )
        assert run(at(0.5), config).taken == 0  # not due before the backoff
        assert run(at(BACKOFF_S[0] / 60), config).deferred == 1
        assert row(d, mid)["attempts"] == 2
        # the next try is 5 minutes later; at the deadline (2 h after it was queued) it fails
        assert run(at(100), config).deferred == 1
        summary = run(at(121), config)
        assert summary.failed == 1
    r = row(d, mid)
    assert r["state"] == "failed" and r["failed_at"] is not None
    assert "max_defer" in str(r["last_error"]) and "450" in str(r["last_error"])
    assert srv.messages == []


def test_max_defer_counts_from_when_a_message_came_due_not_when_it_was_queued(
    at: DeskFactory, tls: Tls, tmp_path: Path
):
    """A notice queued two days ahead of its send time (a maintenance window) is deferred by
    its first 4xx, not failed: max_defer (2 h here) runs from when it came due."""
    d = at(0)
    mid = queue(d, send_after=T0 + timedelta(days=2))
    with smtp_server(tls, behaviour=Behaviour(rcpt="450 4.2.1 mailbox busy")) as srv:
        config = write_config(tmp_path, srv, tls)
        assert run(d, config).taken == 0  # not due yet
        assert run(at(2 * 24 * 60 + 1), config).deferred == 1
        assert row(d, mid)["state"] == "deferred"
        assert run(at(2 * 24 * 60 + 121), config).failed == 1  # 2 h after it came due
    assert "max_defer" in str(row(d, mid)["last_error"])
    assert srv.messages == []


@pytest.mark.parametrize(
    "behaviour,state",
    [
        (Behaviour(rcpt="550 5.1.1 no such user"), "failed"),
        (Behaviour(data="554 5.6.0 message refused"), "failed"),
        (Behaviour(data="452 4.3.1 insufficient storage"), "deferred"),
    ],
)
def test_5xx_fails_one_message_4xx_to_data_defers(
    at: DeskFactory, tls: Tls, tmp_path: Path, behaviour: Behaviour, state: str
):
    d = at(0)
    mid = queue(d)
    with smtp_server(tls, behaviour=behaviour) as srv:
        summary = run(d, write_config(tmp_path, srv, tls))
    assert summary.fault is None and summary.taken == 1
    r = row(d, mid)
    assert r["state"] == state and r["attempts"] == 1
    assert str(r["last_error"])[:3] in ("550", "554", "452")
    assert alarms(d) == []  # one message's fate is no alarm


def test_a_5xx_for_one_recipient_does_not_stop_the_others(
    at: DeskFactory, tls: Tls, tmp_path: Path
):
    d = at(0)
    bad, good = queue(d, to="gone@bluefin.example"), queue(d)
    b = Behaviour(rcpt={"gone@bluefin.example": "550 5.1.1 no such user"})
    with smtp_server(tls, behaviour=b) as srv:
        summary = run(d, write_config(tmp_path, srv, tls))
    assert (summary.sent, summary.failed) == (1, 1)
    assert row(d, bad)["state"] == "failed" and row(d, good)["state"] == "sent"
    assert [m.rcpt_tos for m in srv.messages] == [("priya@bluefin.example",)]


def test_relay_refused_is_a_transport_fault(at: DeskFactory, tls: Tls, tmp_path: Path):
    d = at(0)
    mid = queue(d)
    b = Behaviour(rcpt="554 5.7.1 <priya@bluefin.example>: Relay access denied")
    with smtp_server(tls, behaviour=b) as srv:
        summary = run(d, write_config(tmp_path, srv, tls))
    assert "relay" in str(summary.fault).lower()
    assert (row(d, mid)["state"], row(d, mid)["attempts"]) == ("deferred", 0)
    assert alarms(d) == [(1, 1)]


def test_a_connection_dropped_during_data_defers_and_alarms(
    at: DeskFactory, tls: Tls, tmp_path: Path
):
    d = at(0)
    mid = queue(d)
    with smtp_server(tls, behaviour=Behaviour(drop_data=True)) as srv:
        config = write_config(tmp_path, srv, tls)
        summary = run(d, config)
        assert summary.fault is not None
        assert (row(d, mid)["state"], row(d, mid)["attempts"]) == ("deferred", 0)
        srv.behaviour.drop_data = False
        assert run(at(1), config).sent == 1
    assert len(srv.messages) == 1


def test_connection_refused_is_a_transport_fault(at: DeskFactory, tmp_path: Path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    d = at(0)
    mid = queue(d)
    config = write_config(tmp_path, None, None, host="127.0.0.1", port=port, security="none")
    summary = run(d, config)
    assert "refused" in str(summary.fault)
    assert row(d, mid)["state"] == "deferred"


def test_hostile_subject_and_body_inject_nothing(at: DeskFactory, tls: Tls, tmp_path: Path):
    d = at(0)
    subject = "Re: [#5001] hi\r\nBcc: thief@evil.example\r\n\r\nfake body\x1b[2J\x07\u2028X"
    body = "line one\r\n.\r\nRCPT TO:<thief@evil.example>\n.\nFrom the start\n\u202eevil"
    mid = queue(d, subject=subject, body=body)
    with smtp_server(tls) as srv:
        assert run(d, write_config(tmp_path, srv, tls)).sent == 1
    [got] = srv.messages
    m = got.message
    assert got.rcpt_tos == ("priya@bluefin.example",)
    assert m["Bcc"] is None and m.get_all("To") == ["priya@bluefin.example"]
    assert m["Subject"] == "Re: [#5001] hi Bcc: thief@evil.example fake body [2J X"
    text = got.text
    assert "line one\n.\nRCPT TO:<thief@evil.example>\n.\nFrom the start\n\u202eevil" in text
    assert row(d, mid)["state"] == "sent"


def test_an_address_that_cannot_go_in_an_envelope_fails_unsent(
    at: DeskFactory, tls: Tls, tmp_path: Path
):
    d = at(0)
    mid = queue(d, to="priya@bluefin.example>\r\nRCPT TO:<thief@evil.example")
    utf8 = queue(d, to="jürgen@bluefin.example")  # would need SMTPUTF8: never crashes a run
    fine = queue(d)
    with smtp_server(tls) as srv:
        summary = run(d, write_config(tmp_path, srv, tls))
    assert summary.failed == 2 and summary.sent == 1 and len(srv.messages) == 1
    assert "not an address" in str(row(d, mid)["last_error"])
    assert "not an address" in str(row(d, utf8)["last_error"])
    assert row(d, fine)["state"] == "sent"


def test_throttle_per_destination_domain(at: DeskFactory, desk: Desk, tls: Tls, tmp_path: Path):
    with_mail(desk, "")  # the same policy; then a tighter throttle
    text = POLICY + MAIL.replace("per_domain_per_minute = 1000", "per_domain_per_minute = 2")
    sla.load_policy(desk, parse_policy(text, "mail.toml"))
    d = at(0)
    ids = [queue(d) for _ in range(3)] + [queue(d, to="ops@corvid.example")]
    with smtp_server(tls) as srv:
        config = write_config(tmp_path, srv, tls)
        summary = run(d, config)
        assert (summary.sent, summary.throttled) == (3, 1)
        held = row(d, ids[2])
        assert (held["state"], held["attempts"]) == ("queued", 0)  # no attempt counted
        assert run(at(0.5), config).taken == 0
        assert run(at(1.1), config).sent == 1
    assert len(srv.messages) == 4


@pytest.mark.parametrize("made", [False, True], ids=["missing", "an empty folder"])
def test_maildir_transport(at: DeskFactory, tmp_path: Path, made: bool):
    """The maildir is made when it is missing, and also when its folder exists but is empty
    (as someone trying the desk out makes it)."""
    d = at(0)
    mid = queue(d)
    folder = tmp_path / "Maildir"
    if made:
        folder.mkdir()
    config = write_config(tmp_path, None, None, kind="maildir", maildir=str(folder))
    assert run(d, config).sent == 1
    [msg] = list(mailbox.Maildir(str(folder), create=False))
    assert msg["Return-Path"] == f"<bounces+{mid}@{DOMAIN}>"
    assert msg["Message-ID"] == row(d, mid)["message_id"]
    assert str(row(d, mid)["server_reply"]).startswith("maildir ")


def test_no_mail_domain_sends_nothing(make_desk: DeskFactory, desk: Desk, tmp_path: Path):
    sla.load_policy(desk, parse_policy(POLICY, "no-mail.toml"))  # no [mail] table
    assert current_policy(desk).mail.domain is None
    config = write_config(tmp_path, None, None, kind="maildir", maildir=str(tmp_path / "M"))
    summary = run(desk, config)
    assert not summary.enabled and "sends nothing" in summary.line()


def test_the_lease_takes_due_and_expired_and_only_the_holder_marks(
    at: DeskFactory, tls: Tls, tmp_path: Path
):
    d = at(0)
    later = queue(d, send_after=T0 + timedelta(hours=1))
    mid = queue(d)
    assert lease_one(d, "a", 90).id == mid  # type: ignore[union-attr]
    assert lease_one(d, "b", 90) is None  # leased, and the other is not due
    taken = lease_one(at(2), "c", 90)  # a's lease has expired
    assert taken is not None and taken.id == mid
    assert row(d, mid)["lease_owner"] == "c"
    # a, back from the dead, cannot record anything on c's message
    from supportdesk.services.outbox import sending

    assert not sending._mark_sent(at(2), taken, "a", "250 late")
    assert row(d, mid)["state"] == "sending"
    assert sending._mark_sent(at(2), taken, "c", "250 ok")
    assert row(d, mid)["state"] == "sent" and row(d, later)["state"] == "queued"


def test_composition_keeps_only_well_formed_threading_headers(at: DeskFactory):
    d = at(0)
    mid = queue(d, in_reply_to="<a@x>\r\nBcc: y@z", automatic="auto-replied")
    taken = lease_one(d, "me", 90)
    assert taken is not None and taken.id == mid
    headers = json.loads(taken.headers)
    assert headers["Auto-Submitted"] == "auto-replied"
    from supportdesk.core.policy import current_policy

    msg = compose(taken, current_policy(d).mail, T0)
    assert msg["In-Reply-To"] == "<a@x>" and msg["Auto-Submitted"] == "auto-replied"
    assert b"Bcc" not in msg.as_bytes()


# -- the configuration ------------------------------------------------------------------------
def test_config_refusals(tmp_path: Path):
    def refused(text: str, needle: str) -> None:
        path = tmp_path / "c.toml"
        path.write_text(text)
        with pytest.raises(ConfigError) as exc:
            load_config(path)
        assert needle in str(exc.value), str(exc.value)
        assert exc.value.exit_code == 2

    pw = tmp_path / "pw"
    pw.write_text("secret\n")
    pw.chmod(0o644)
    base = '[transport]\nhost = "h"\n'
    refused(base + f'username = "u"\npassword_file = "{pw}"\n', "0644")
    pw.chmod(0o600)
    refused(base + f'security = "none"\nusername = "u"\npassword_file = "{pw}"\n', "security")
    refused(base + 'username = "u"\n', "transport.password_file")
    refused(base + "port = 0\n", "transport.port")
    refused(base + 'colour = "red"\n', "transport.colour")
    refused(base + 'security = "ssl"\n', "transport.security")
    refused('[transport]\nkind = "maildir"\n', "transport.maildir")
    refused("[transport\n", "not TOML")
    refused(base + 'cafile = "/nonexistent/ca.pem"\n', "transport.cafile")
    with pytest.raises(ConfigError, match="no mail configuration"):
        load_config(tmp_path / "missing.toml")
    ok = tmp_path / "ok.toml"
    ok.write_text(base + f'username = "u"\npassword_file = "{pw}"\n')
    cfg = load_config(ok)
    assert cfg.password == "secret" and "secret" not in repr(cfg)
    assert (cfg.port, cfg.security) == (587, "starttls")


def test_migration_0015_goes_down_and_up(at: DeskFactory):
    """Down to the revision below the outbox and back: the tables (and their NOTIFY triggers
    on PostgreSQL) come back, empty and usable."""
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    import supportdesk
    from supportdesk.store import HEAD_REVISION

    d = at(0)
    queue(d)
    where = str(Path(supportdesk.__file__).parent / "migrations")
    [script] = [
        s for s in ScriptDirectory(where).walk_revisions() if str(s.path).endswith("_outbox.py")
    ]
    below = script.down_revision
    assert isinstance(below, str)

    def alembic(target: str, down: bool = False) -> None:
        cfg = Config()
        cfg.set_main_option("script_location", where)
        with d.store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            (command.downgrade if down else command.upgrade)(cfg, target)

    def tables() -> set[str]:
        if d.store.is_sqlite:
            sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        else:
            sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        return {str(r[0]) for r in d.store.query(sql)} & {"outbox", "mail_alarms"}

    def triggers() -> set[str]:
        if d.store.is_sqlite:
            return set()
        sql = "SELECT tgname FROM pg_trigger WHERE tgname IN (?, ?)"
        return {str(r[0]) for r in d.store.query(sql, ("outbox_notify", "mail_alarms_notify"))}

    made = triggers()
    assert made == (set() if d.store.is_sqlite else {"outbox_notify", "mail_alarms_notify"})
    assert tables() == {"outbox", "mail_alarms"}
    alembic(below, down=True)
    assert d.store.schema_revision() == below and tables() == set() and triggers() == set()
    alembic("head")
    assert d.store.schema_revision() == HEAD_REVISION
    assert tables() == {"outbox", "mail_alarms"} and triggers() == made
    queue(d)
    assert lease_one(d, "me", 90) is not None
