"""The demo desk's fixed staff (documentation names them: `--as LOGIN`) and what a build
reports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoStaff:
    """One member of the demo desk."""

    login: str
    name: str
    role: str
    tier: int


DEMO_STAFF: tuple[DemoStaff, ...] = (
    DemoStaff("lena", "Lena Mokoena", "lead", 3),
    DemoStaff("sipho", "Sipho Dlamini", "lead", 3),
    DemoStaff("amir", "Amir Haddad", "agent", 1),
    DemoStaff("nomsa", "Nomsa Khumalo", "agent", 1),
    DemoStaff("pieter", "Pieter van Wyk", "agent", 1),
    DemoStaff("fatima", "Fatima Patel", "agent", 1),
    DemoStaff("josh", "Josh Reed", "agent", 1),
    DemoStaff("lerato", "Lerato Molefe", "agent", 1),
    DemoStaff("dmitri", "Dmitri Volkov", "agent", 1),
    DemoStaff("chloe", "Chloe Martin", "agent", 1),
    DemoStaff("tomas", "Tomas Ferreira", "engineer", 2),
    DemoStaff("aisha", "Aisha Naidoo", "engineer", 2),
    DemoStaff("ben", "Ben Okafor", "engineer", 2),
    DemoStaff("kaito", "Kaito Tanaka", "engineer", 2),
    DemoStaff("marta", "Marta Kowalska", "engineer", 2),
    DemoStaff("ingrid", "Ingrid Larsen", "engineer", 3),
    DemoStaff("ravi", "Ravi Iyer", "engineer", 3),
    DemoStaff("zanele", "Zanele Mthembu", "engineer", 3),
)


@dataclass(frozen=True)
class DemoResult:
    """What `build_demo` made, and how long it took."""

    tickets: int
    accounts: int
    staff: tuple[DemoStaff, ...]
    seconds: float

    def _first(self, role: str, min_tier: int = 1) -> str:
        for member in self.staff:
            if member.role == role and member.tier >= min_tier:
                return member.login
        raise LookupError(f"no demo staff member with role {role}")

    @property
    def lead_login(self) -> str:
        return self._first("lead")

    @property
    def agent_login(self) -> str:
        return self._first("agent")

    @property
    def engineer_login(self) -> str:
        return self._first("engineer", 2)


@dataclass(frozen=True)
class Welcome:
    """What the console's first-run panel shows after a demo is built: how to open it as
    someone else, the logins, and the callers given a support PIN. Kept in memory only: the
    database holds the PINs hashed."""

    where: str  # "--db PATH", for the commands shown
    staff: tuple[tuple[str, str, int, str], ...]  # login, role, tier, name
    pins: tuple[tuple[str, str, str, str], ...]  # account, contact, e-mail, PIN
    agent: str
    engineer: str
