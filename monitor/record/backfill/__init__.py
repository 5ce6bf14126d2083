"""History from day one: backfill a target from the Wayback Machine or Open Terms Archive.

See docs/backfill.md and docs/decisions/0008-backfill.md.
"""

from monitor.record.backfill.common import BackfillError, BackfillReport
from monitor.record.backfill.ota import backfill_ota
from monitor.record.backfill.wayback import WaybackClient, backfill_wayback

__all__ = ["BackfillError", "BackfillReport", "WaybackClient", "backfill_ota", "backfill_wayback"]
