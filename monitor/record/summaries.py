"""Stored summaries brought up to date: ``policywatch summaries rebuild``.

A change's summary (``changes.summary``, ``monitor.compare.summary``) is derived from its
evidence and the phrasing in ``summary.yaml``. Changes recorded before summaries existed have
none, and a phrasing change leaves the stored ones stale: every reader re-derives those on the
fly, but the database itself (``changes_readable``, Datasette, the CSV of an older copy) shows
what is stored. This re-derives each change's summary and writes the ones that differ.

Batches of ``batch`` changes in id order, each written in one transaction (``Store.set_summaries``:
``BEGIN IMMEDIATE``, so it waits for the database's writer lock like every write and lets the
daemon record between batches). Idempotent: a summary equal to the stored one is not written,
so a second run writes nothing. Deriving never reads the network or the classifier: only the
stored class, severity, evidence and hunks.
"""

import json
from dataclasses import asdict, dataclass

from monitor.compare import summary_json
from monitor.store import Store

DEFAULT_BATCH = 500


@dataclass
class SummaryRebuild:
    """What a run did: ``checked`` changes, of which ``missing`` had no readable summary;
    ``rebuilt`` were written (with ``dry_run``: would be)."""

    checked: int = 0
    missing: int = 0
    rebuilt: int = 0
    dry_run: bool = False
    missing_only: bool = False

    def as_json(self) -> dict:
        """For ``policywatch summaries rebuild --json``."""
        return asdict(self)


def _readable(stored) -> bool:
    if not stored:
        return False
    try:
        return isinstance(json.loads(stored), dict)
    except ValueError:
        return False


def rebuild_summaries(store: Store, *, missing_only: bool = False, dry_run: bool = False,
                      batch: int = DEFAULT_BATCH) -> SummaryRebuild:
    """Re-derive the summary of every change (``missing_only``: of those with none) and store
    the ones that differ from what is stored, a transaction a batch; ``dry_run`` only counts."""
    report = SummaryRebuild(dry_run=dry_run, missing_only=missing_only)
    last = 0
    while rows := store.change_summary_rows(last, batch, missing_only=missing_only):
        last = rows[-1]["id"]
        changed = []
        for row in rows:
            report.checked += 1
            report.missing += not _readable(row["summary"])
            derived = summary_json(row)
            if derived != row["summary"]:
                changed.append((row["id"], derived))
        report.rebuilt += len(changed)
        if changed and not dry_run:
            store.set_summaries(changed)
    return report
