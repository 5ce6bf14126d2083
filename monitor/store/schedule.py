"""Schedules as data: when each target is next due, and claiming due targets.

A tick *claims* due targets by moving their ``next_fetch_at`` a lease into the future in one
transaction; recording the capture then sets the real next time (interval ± jitter). If the
process dies between the two, the lease expires and the target is due again: no target is
lost, and two ticks never claim the same target at once.
"""

import random

from monitor.store.database import Store
from monitor.timeutil import iso, later_iso, now

# How long a claimed target stays out of other ticks' reach before it is due again.
CLAIM_LEASE_SECONDS = 15 * 60
DEFAULT_JITTER_SHARE = 0.05
RETIRED = "removed"


def jitter_seconds(target: dict) -> int:
    """The target's jitter, or 5% of its interval."""
    if target.get("jitter_seconds") is not None:
        return int(target["jitter_seconds"])
    return int(target["every_seconds"] * DEFAULT_JITTER_SHARE)


def next_fetch_after_success(target: dict) -> str:
    """Interval ± jitter from now, so targets added together spread out over time."""
    spread = jitter_seconds(target)
    return later_iso(max(60, target["every_seconds"] + random.uniform(-spread, spread)))


def claim_due(store: Store, limit: int = 500, lease_seconds: int = CLAIM_LEASE_SECONDS,
              at=None, ids: list[int] | None = None) -> list[dict]:
    """Claim up to ``limit`` due targets (oldest due first) and return them.

    ``ids`` restricts the claim to those targets (re-queueing the ones whose lease expired).
    The claim's ``claimed_at`` stamp doubles as its token: recording clears it, and a new claim
    replaces it, so an answer that carries an older stamp answers a claim that is gone.
    """
    moment = at or now()
    stamp = iso(moment)
    only = f"AND id IN ({','.join('?' * len(ids))}) " if ids is not None else ""
    if ids is not None and not ids:
        return []
    with store.transaction():
        ids = [row[0] for row in store.db.execute(
            "SELECT id FROM targets WHERE state != ? AND (next_fetch_at IS NULL OR next_fetch_at <= ?) "
            f"{only}ORDER BY next_fetch_at LIMIT ?", [RETIRED, stamp, *(ids or []), limit])]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        store.db.execute(
            f"UPDATE targets SET next_fetch_at = ?, claimed_at = ? WHERE id IN ({marks})",
            [later_iso(lease_seconds, moment), stamp, *ids])
    return [store.get_target(target_id) for target_id in ids]


def release(store: Store, target_ids: list[int]) -> int:
    """Make claimed targets due again at once (clean shutdown before they were fetched)."""
    if not target_ids:
        return 0
    marks = ",".join("?" * len(target_ids))
    with store.transaction():
        return store.db.execute(
            f"UPDATE targets SET next_fetch_at = ?, claimed_at = NULL "
            f"WHERE claimed_at IS NOT NULL AND id IN ({marks})", [iso(now()), *target_ids]).rowcount


def next_due_at(store: Store) -> str | None:
    """When the next target is due (None without active targets)."""
    row = store.db.execute("SELECT min(next_fetch_at) FROM targets WHERE state != ?", [RETIRED]).fetchone()
    return row[0] if row else None


def claim_of(store: Store, target_id: int) -> str | None:
    """The token (``claimed_at``) of a target's open claim; None if it has none or there is no
    such target."""
    row = store.db.execute("SELECT claimed_at FROM targets WHERE id = ?", [target_id]).fetchone()
    return row[0] if row else None


def open_claims(store: Store) -> dict[int, str]:
    """Every open claim: target id → its token (``claimed_at``)."""
    return {row[0]: row[1] for row in store.db.execute(
        "SELECT id, claimed_at FROM targets WHERE claimed_at IS NOT NULL")}
