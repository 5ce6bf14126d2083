"""The first migration's tables (``schema._create_core_tables``): targets, snapshots, captures,
versions, changes and the notifier's subscriptions and deliveries, as policywatch first made
them. Later columns are added by the later migrations in ``schema``; never edit these, since
every existing database already ran them."""

import sqlite_utils


def create_targets_and_snapshots(db: sqlite_utils.Database) -> None:
    """What is watched, and the raw bodies fetched (one row per distinct body)."""
    db["targets"].create(
        {
            "id": int,
            "company": str,
            "doc_type": str,
            "url": str,
            "select_css": str,  # JSON list of CSS selectors
            "remove_css": str,  # JSON list of CSS selectors
            "every_seconds": int,
            "etag": str,
            "last_modified": str,
            "next_fetch_at": str,
            "state": str,  # new | ok | failing | broken
            "consecutive_failures": int,
            "last_error": str,
            "last_success_at": str,
            "created_at": str,
        },
        pk="id",
        not_null={"company", "doc_type", "url", "state"},
        defaults={"state": "new", "consecutive_failures": 0, "select_css": "[]", "remove_css": "[]"},
    )
    db["targets"].create_index(["url", "doc_type"], unique=True)
    db["targets"].create_index(["next_fetch_at"])

    db["snapshots"].create(
        {"sha256": str, "content_type": str, "size": int, "body_zlib": bytes, "created_at": str},
        pk="sha256",
    )


def create_captures_and_versions(db: sqlite_utils.Database) -> None:
    """Every fetch of a target, and the distinct texts it extracted to (full-text indexed)."""
    db["captures"].create(
        {
            "id": int,
            "target_id": int,
            "started_at": str,
            "fetched_at": str,
            "url": str,
            "final_url": str,
            "status": int,
            "headers": str,  # JSON object of response headers
            "content_type": str,
            "body_sha256": str,
            "body_size": int,
            "elapsed_ms": int,
            "outcome": str,  # first-version | new-version | unchanged | not-modified | error
            "error_kind": str,
            "error": str,
            "version_id": int,
        },
        pk="id",
        foreign_keys=[("target_id", "targets", "id")],
    )
    db["captures"].create_index(["target_id", "fetched_at"])

    db["versions"].create(
        {
            "id": int,
            "target_id": int,
            "text": str,
            "text_sha256": str,
            "compare_sha256": str,  # hash of the text as compared (dates, URLs ignored)
            "snapshot_sha256": str,
            "capture_id": int,
            "first_seen_at": str,
            "last_seen_at": str,
            "extractor_version": str,
            "returns_to_version_id": int,
            "chain_hash": str,
        },
        pk="id",
        foreign_keys=[("target_id", "targets", "id")],
    )
    db["versions"].create_index(["target_id", "id"])
    db["versions"].enable_fts(["text"], create_triggers=True, tokenize="porter")


def create_changes(db: sqlite_utils.Database) -> None:
    """The classified differences between consecutive versions."""
    db["changes"].create(
        {
            "id": int,
            "target_id": int,
            "from_version_id": int,
            "to_version_id": int,
            "detected_at": str,
            "class": str,
            "severity": int,
            "topics": str,  # JSON list
            "direction": str,
            "evidence": str,  # JSON list of {sentence, rule, topics}
            "hunks": str,  # JSON list of diff hunks, the `changes` of `policywatch diff --json`
            "chars_added": int,
            "chars_removed": int,
            "classifier": str,
        },
        pk="id",
        foreign_keys=[("target_id", "targets", "id")],
    )
    db["changes"].create_index(["target_id", "id"])


def create_notify_tables(db: sqlite_utils.Database) -> None:
    """The notifier's subscriptions, its delivery outbox and each delivery's attempts."""
    db["subscriptions"].create(
        {
            "id": int,
            "name": str,
            "apprise_url": str,  # redacted since _move_channel_secrets_out; the full URL: secret_ref
            "companies": str,  # JSON list; empty means all
            "doc_types": str,
            "topics": str,
            "min_severity": int,
            "class_filter": str,  # material | editorial | any
            "digest": str,  # none | daily | weekly
            "format": str,  # text | markdown | html
            "active": int,
            "created_at": str,
        },
        pk="id",
        defaults={"active": 1, "min_severity": 1, "class_filter": "material", "digest": "none",
                  "format": "text", "companies": "[]", "doc_types": "[]", "topics": "[]"},
    )

    db["deliveries"].create(
        {
            "id": int,
            "change_id": int,
            "subscription_id": int,
            "idempotency_key": str,
            "status": str,  # pending | sending | sent | failed | dead | cancelled | digest
            "attempts": int,
            "next_attempt_at": str,
            "last_error": str,
            "created_at": str,
            "sent_at": str,
        },
        pk="id",
        foreign_keys=[("change_id", "changes", "id"), ("subscription_id", "subscriptions", "id")],
        defaults={"status": "pending", "attempts": 0},
    )
    db["deliveries"].create_index(["idempotency_key"], unique=True)
    db["deliveries"].create_index(["status", "next_attempt_at"])

    db["delivery_attempts"].create(
        {"id": int, "delivery_id": int, "attempted_at": str, "ok": int, "error": str},
        pk="id",
        foreign_keys=[("delivery_id", "deliveries", "id")],
    )
