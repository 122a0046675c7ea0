"""`supportdesk account ...` and `supportdesk service add`: customer accounts and their
services."""

from __future__ import annotations

import click

from supportdesk.cli.env import Env, pass_env
from supportdesk.cli.output import emit, inert, json_option, say
from supportdesk.cli.params import choice
from supportdesk.enums import ServiceKind
from supportdesk.errors import UsageError
from supportdesk.services import directory


@click.group()
def account() -> None:
    """Customer accounts."""


@account.command("add")
@click.argument("account_id")
@click.option("--company", required=True)
@click.option("--plan", required=True)
@click.option("--notes", default="")
@click.option(
    "--reseller",
    help="The reseller ACCOUNT this is an end customer of (referred to it, never ticketed).",
)
@json_option
@pass_env
def account_add(
    env: Env,
    account_id: str,
    company: str,
    plan: str,
    notes: str,
    reseller: str | None,
    as_json: bool,
) -> None:
    """Add an account."""
    a = directory.add_account(env.desk(), account_id, company, plan, notes, reseller)
    emit(
        a,
        as_json,
        f"account {inert(a.id)} added"
        + (f": {inert(a.referral.message)}" if a.referral is not None else ""),
    )


@account.command("update")
@click.argument("account_id")
@click.option("--reseller", help="Make it an end customer of the reseller ACCOUNT.")
@click.option("--no-reseller", is_flag=True, help="It is no longer a reseller's customer.")
@json_option
@pass_env
def account_update(
    env: Env, account_id: str, reseller: str | None, no_reseller: bool, as_json: bool
) -> None:
    """Change an account's reseller (audited)."""
    if (reseller is None) == (not no_reseller):
        raise UsageError("give --reseller ACCOUNT or --no-reseller")
    desk = env.desk()
    referral = directory.set_reseller(desk, account_id, None if no_reseller else reseller)
    a = directory.show_account(desk, account_id)
    emit(
        a,
        as_json,
        f"account {inert(a.id)}: "
        + (inert(referral.message) if referral is not None else "no longer a reseller's customer"),
    )


@account.command("list")
@click.option("--search")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@pass_env
def account_list(env: Env, search: str | None, limit: int, as_json: bool) -> None:
    """List accounts (optionally matching TEXT in id or company)."""
    rows = directory.list_accounts(env.desk(), search, limit)
    # the list reads the accounts alone: what `account show` adds (services, contacts, open
    # tickets) is left out, not given as empty lists and a 0 that are not the account's
    listed = (
        [{k: v for k, v in a.to_json().items() if k not in SHOW_ONLY} for a in rows]
        if as_json
        else rows
    )
    emit(
        listed,
        as_json,
        lambda: (
            "\n".join(
                f"{inert(a.id):<24} {inert(a.plan):<14} {a.status:<10} {inert(a.company)}"
                for a in rows
            )
            or "no accounts"
        ),
    )


SHOW_ONLY = ("services", "contacts", "open_tickets", "referral")


@account.command("show")
@click.argument("account_id")
@json_option
@pass_env
def account_show(env: Env, account_id: str, as_json: bool) -> None:
    """Show an account with its contacts and services."""
    a = directory.show_account(env.desk(), account_id)

    def text() -> str:
        out = [
            f"{inert(a.id)}  {inert(a.company)}",
            f"  plan {inert(a.plan)}   status {a.status}"
            + (f" ({inert(a.suspended_reason)})" if a.suspended_reason else "")
            + f"   open tickets {a.open_tickets}",
        ]
        r = a.referral
        if r is not None:
            out.append(f"  end customer of reseller {inert(r.reseller)} ({inert(r.company)})")
            out.append(f"    refer them to: {inert(r.contact_line)}")
        if a.notes:
            out.append(f"  notes: {inert(a.notes)}")
        out.append("  contacts:")
        out += [
            f"    {c.id:<6} {c.role:<11} {inert(c.name)}  {inert(' '.join(c.emails))}  "
            f"{inert(' '.join(c.phones))}"
            for c in a.contacts
        ]
        out.append("  services:")
        out += [
            f"    {s.id:<6} {s.kind:<15} {inert(s.label)}  {inert(' '.join(s.domains))}  "
            f"{inert(s.server or '')}"
            for s in a.services
        ]
        return "\n".join(out)

    emit(a, as_json, text)


@account.command("plan")
@click.argument("account_id")
@click.argument("plan")
@pass_env
def account_plan(env: Env, account_id: str, plan: str) -> None:
    """Move an account to another SLA plan (recomputes its open tickets' clocks)."""
    changed = directory.set_plan(env.desk(), account_id, plan)
    say(f"account {inert(account_id)} on plan {inert(plan)}: {changed} open tickets recomputed")


@click.group()
def service() -> None:
    """An account's services."""


@service.command("add")
@click.option("--account", "account_id", required=True)
@click.option("--kind", required=True, type=choice(ServiceKind))
@click.option("--label", default="")
@click.option("--domain", "domains", multiple=True)
@click.option("--server")
@json_option
@pass_env
def service_add(
    env: Env,
    account_id: str,
    kind: str,
    label: str,
    domains: tuple[str, ...],
    server: str | None,
    as_json: bool,
) -> None:
    """Add a service to an account."""
    s = directory.add_service(env.desk(), account_id, kind, label, list(domains), server)
    emit(s, as_json, f"service {s.id} added to {inert(account_id)}")
