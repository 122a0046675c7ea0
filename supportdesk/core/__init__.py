"""The ticket write core: the desk (actor, clock, audited write), load-and-lock, guards and
permissions, history events, status changes, the claim primitive and its holding limit,
watchers and notices, SLA clocks applied inside writes. Every domain in services/ builds
on it; it imports no service."""
