"""`supportdesk contact ...` and `supportdesk verify`: an account's contacts, their support
PINs, and verifying a caller (the PIN comes from a prompt or stdin, never argv)."""

from __future__ import annotations

import sys

import click

from supportdesk.cli.env import Env, pass_env
from supportdesk.cli.output import EXIT_ERROR, emit, inert, json_option, say, when
from supportdesk.cli.params import SERVICE_ID, VERIFICATION_ID, choice, stdin_text
from supportdesk.enums import ContactRole
from supportdesk.errors import UsageError
from supportdesk.services import directory
from supportdesk.services.callers import verification

MAX_PIN_LINE = 64


@click.group()
def contact() -> None:
    """An account's contacts."""


@contact.command("add")
@click.option("--account", "account_id", required=True)
@click.option("--name", required=True)
@click.option("--email", "emails", multiple=True)
@click.option("--phone", "phones", multiple=True)
@click.option("--role", required=True, type=choice(ContactRole))
@click.option(
    "--service", "services", multiple=True, type=SERVICE_ID, help="Limit to this service."
)
@click.option("--allow", "requests", multiple=True, help="Sub-account: a request type allowed.")
@click.option(
    "--verification",
    "verification_id",
    type=VERIFICATION_ID,
    help="The primary or secondary contact's verification on this call (non-leads).",
)
@json_option
@pass_env
def contact_add(
    env: Env,
    account_id: str,
    name: str,
    emails: tuple[str, ...],
    phones: tuple[str, ...],
    role: str,
    services: tuple[int, ...],
    requests: tuple[str, ...],
    verification_id: int | None,
    as_json: bool,
) -> None:
    """Add a contact to an account (a lead, or an owner's verified request)."""
    c = directory.add_contact(
        env.desk(),
        account_id,
        name,
        list(emails),
        list(phones),
        role,
        services=list(services),
        requests=list(requests),
        verification_id=verification_id,
    )
    emit(c, as_json, f"contact {c.id} ({c.role}) added to {inert(account_id)}")


@contact.command("pin")
@click.option("--account", "account_id", required=True)
@click.option("--contact", "contact_ref", required=True, help="E-mail, phone, id or name.")
@click.option("--rotate", is_flag=True, help="Replace an existing PIN.")
@json_option
@pass_env
def contact_pin(env: Env, account_id: str, contact_ref: str, rotate: bool, as_json: bool) -> None:
    """Generate a contact's support PIN; it is printed this once and never again."""
    r = verification.set_pin(env.desk(), account_id, contact_ref, rotate=rotate)
    emit(r, as_json, f"PIN for {inert(r.contact)}: {r.pin}   (shown once; tell the contact now)")


@contact.command("unlock")
@click.option("--account", "account_id", required=True)
@click.option("--contact", "contact_ref", required=True, help="E-mail, phone, id or name.")
@pass_env
def contact_unlock(env: Env, account_id: str, contact_ref: str) -> None:
    """Lift a PIN lockout (leads), after showing the recent attempts."""
    recent = verification.unlock(env.desk(), account_id, contact_ref)
    for a in recent:
        say(
            f"  {when(a.at, seconds=True)}  {inert(a.agent or '-'):<10} {a.channel:<6} "
            f"{a.method:<9} {a.result}"
        )
    say(f"{inert(contact_ref)} unlocked")


def _read_pin() -> str:
    """The PIN from a hidden prompt on a terminal, else the first line of stdin (never argv)."""
    if sys.stdin is not None and sys.stdin.isatty():
        return str(click.prompt("PIN", hide_input=True, default="", show_default=False))
    if sys.stdin is None:
        raise UsageError("no PIN: type it at the prompt or give it on standard input")
    return stdin_text("PIN", MAX_PIN_LINE, line=True).rstrip("\r\n")


@click.command("verify")
@click.option("--account", "account_id", required=True)
@click.option("--contact", "contact_ref", help="E-mail, phone, id or name (omit: not listed).")
@click.option("--channel", type=click.Choice(["phone", "chat"]), default="phone")
@click.option("--request", "request_type", help="What the caller asks for (e.g. password_reset).")
@click.option("--service", "service_id", type=SERVICE_ID, help="The service the request is about.")
@click.option("--callback", "callback_number", help="Number you called back (phone, no PIN).")
@json_option
@pass_env
def verify_cmd(
    env: Env,
    account_id: str,
    contact_ref: str | None,
    channel: str,
    request_type: str | None,
    service_id: int | None,
    callback_number: str | None,
    as_json: bool,
) -> None:
    """Verify a caller: the PIN is read from a prompt or standard input, never from argv."""
    desk = env.desk()
    pin = None
    if contact_ref is not None and callback_number is None:
        pin = _read_pin()
    v = verification.verify(
        desk,
        account_id,
        contact_ref,
        channel,
        pin=pin,
        callback_number=callback_number,
        request=request_type,
        service=service_id,
    )

    def text() -> str:
        lines = [f"{v.state.upper()}: {inert(v.message)}"]
        if v.verification_id is not None:  # what `ticket new --verification` needs
            usable = v.state in (verification.VERIFIED, verification.HELD)
            lines.append(
                f"  verification {v.verification_id}"
                + (f" (ticket new --verification {v.verification_id})" if usable else "")
            )
        if v.verified:
            lines.append(f"  may:     {', '.join(v.may) or '-'}")
            lines.append(f"  may not: {', '.join(v.may_not) or '-'}")
            if v.who_can:
                lines.append(f"  who can: {inert(', '.join(v.who_can))}")
        for a in v.recent:
            lines.append(
                f"  {when(a.at, seconds=True)}  {inert(a.agent or '-'):<10} "
                f"{a.channel:<6} {a.method:<9} {a.result}"
            )
        return "\n".join(lines)

    emit(v, as_json, text)
    if v.state in (verification.FAILED, verification.LOCKED):
        sys.exit(EXIT_ERROR)
