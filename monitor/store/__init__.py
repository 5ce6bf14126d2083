"""The store: the only package that speaks SQL (SQLite through sqlite-utils).

``Store`` (``open_store``) is the repositories together: targets, snapshots, versions and
changes, captures, the ledger, timestamps, evidence, notifications, channel secrets. Also the
crawl schedule, the writer lock, maintenance, health and the web's read-only read model
(``Queries``). Everything above reads and writes through these names, never through SQL.
"""

import lazy_loader

# The public face, each name loaded on first use: importing the package costs nothing, so the
# CLI starts fast and a face cannot create an import cycle (docs/decisions/0017-package-faces.md).
__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    # repositories and modules used as a namespace (``notifications.pending(...)``)
    submodules=[
        "change_filter", "channel_secrets", "evidence_rows", "ledger", "notifications", "timestamps", "unsubscribe",
    ],
    submod_attrs={
        "capture_repository": ["last_warc_capture"],
        "database": [
            "DEFAULT_DOC_TYPE", "DEFAULT_EVERY_SECONDS", "RENDER_MODES", "Store", "open_store",
            "require_database", "sha256_hex",
        ],
        "health": ["status_report"],
        "lock": ["DaemonLock"],
        "maintenance": ["maintain"],
        "change_filter": [
            "EXPORT_INCLUDE", "MAX_SQL_INT", "ChangeFilter", "include_param", "parse_id", "parse_include",
            "parse_month", "slugify",
        ],
        "read_model": ["NotFound", "Queries"],
        "schedule": [
            "CLAIM_LEASE_SECONDS", "claim_due", "claim_of", "next_due_at", "next_fetch_after_success",
            "open_claims", "release",
        ],
        "sqlite_errors": ["DatabaseFailure"],
        "target_repository": ["check_url_and_company"],
    },
)
