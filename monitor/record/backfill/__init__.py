"""History from day one: backfill a target from the Wayback Machine or Open Terms Archive.

See docs/backfill.md and docs/decisions/0008-backfill.md.
"""

import lazy_loader

# The public face, each name loaded on first use: importing the package costs nothing, so the
# CLI starts fast and a face cannot create an import cycle (docs/decisions/0017-package-faces.md).
__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submodules=[],
    submod_attrs={
        "common": ["ArchiveUnavailable", "BackfillError", "BackfillReport", "SOURCES", "resolve_target"],
        "ota": ["TECHNICAL_PREFIXES", "backfill_ota", "documents"],
        "wayback": [
            "DEFAULT_BASE_URL", "DEFAULT_DELAY_SECONDS", "PERIODS", "RETRIES", "WaybackClient",
            "backfill_wayback",
        ],
    },
)
