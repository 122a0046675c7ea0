"""Callers: who is on the line (account lookup) and whether they are who they say
(verification by PIN, lockouts, what they may ask for)."""
