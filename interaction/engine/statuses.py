"""Proposition statuses (SPEC §3): their names and the order they move in."""

from __future__ import annotations

PROPOSED = "proposed"
PRESENTED = "presented"
INTERESTED = "interested"
ACCEPTED = "accepted"
SCHEDULED = "scheduled"
REJECTED = "rejected"

#: A status never goes back down this order: a late "presented" beacon must not
#: undo an "accepted" click. Statuses of the same level replace each other.
LEVELS = {
    PROPOSED: 0,
    PRESENTED: 1,
    INTERESTED: 2,
    SCHEDULED: 3,
    ACCEPTED: 4,
    REJECTED: 4,
}

#: What a typology rule counts, by its "statuses counted" setting (``None``: any).
COUNTED = {
    "any": None,
    "answered": frozenset({ACCEPTED, REJECTED}),
    ACCEPTED: frozenset({ACCEPTED}),
    REJECTED: frozenset({REJECTED}),
}


def sources(status: str) -> frozenset[str]:
    """The statuses a proposition may move to ``status`` from: never backwards,
    and never to the status it already has (so repeated updates change nothing)."""
    level = LEVELS[status]
    return frozenset(s for s, lv in LEVELS.items() if lv <= level and s != status)
