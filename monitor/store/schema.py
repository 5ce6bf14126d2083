"""The store's schema and its migrations, on sqlite-utils' ``Migrations``.

Each migration is a function applied once, in order, recorded by name in ``_sqlite_migrations``
(set ``policywatch``). Databases made before that table existed recorded in ``PRAGMA
user_version`` how many of ``MIGRATIONS`` had run: ``migrate`` adopts them (records those as
applied, runs none again). ``user_version`` is still kept equal to the number applied, so an
older policywatch opening a newer database does not redo any. ``migrate`` is idempotent and
safe on every open.

Moving channel URLs out of the database (``_move_channel_secrets_out``) is the notifier's
business: it listens to ``events.CHANNEL_URLS_MIGRATING`` (``notify.install``); the store
never imports the notifier.
"""

import datetime
import logging
from collections.abc import Callable

import sqlite_utils
from sqlite_utils.migrations import Migrations

from monitor import events
from monitor.errors import StoreError
from monitor.store import schema_core

MIGRATION_SET = "policywatch"


def _create_core_tables(db: sqlite_utils.Database) -> None:
    schema_core.create_targets_and_snapshots(db)
    schema_core.create_captures_and_versions(db)
    schema_core.create_changes(db)
    schema_core.create_notify_tables(db)


def _add_evidence(db: sqlite_utils.Database) -> None:
    """WARC references on captures, and the append-only ledger (a hash chain)."""
    for column in ("warc_file", "warc_record_id", "warc_request_id"):
        db["captures"].add_column(column, str)
    for column in ("warc_offset", "warc_length"):
        db["captures"].add_column(column, int)
    db["ledger"].create(
        {
            "seq": int,
            "kind": str,  # version | change | delivery
            "ref_id": int,
            "content_hash": str,
            "recorded_at": str,
            "prev_hash": str,
            "entry_hash": str,
        },
        pk="seq",
        not_null={"kind", "ref_id", "content_hash", "recorded_at", "prev_hash", "entry_hash"},
    )
    db["ledger"].create_index(["kind", "ref_id"], unique=True)
    # Append-only: the database itself refuses edits and deletes of ledger rows.
    db.execute("CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger "
               "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END")
    db.execute("CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger "
               "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END")


def _add_notify_outbox(db: sqlite_utils.Database) -> None:
    """Operator alerts, digests, and claimable deliveries (see docs/decisions/0004)."""
    db["subscriptions"].add_column("operator", int, not_null_default=0)  # wants target broken/recovered
    db["subscriptions"].add_column("last_digest_at", str)  # end of the period last summarised
    # No foreign key: an event (and its alert) outlives a removed target, so it keeps a copy.
    db["operator_events"].create(
        {"id": int, "target_id": int, "company": str, "doc_type": str, "url": str,
         "kind": str,  # broken | recovered
         "old_state": str, "new_state": str, "reason": str, "created_at": str},
        pk="id",
    )
    db["deliveries"].add_column("kind", str, not_null_default="change")  # change | digest | operator
    db["deliveries"].add_column("operator_event_id", int)
    db["deliveries"].add_column("digest_delivery_id", int)  # set on changes summarised by a digest
    db["deliveries"].add_column("claimed_at", str)  # when a notifier set status `sending`
    db["deliveries"].create_index(["subscription_id", "status"])
    db["delivery_attempts"].add_column("finished_at", str)  # NULL while the send is in flight



def _add_extraction_guards(db: sqlite_utils.Database) -> None:
    """Capture guards, rendering per target, technical (re-extraction) versions."""
    db["captures"].add_column("guard", str)  # bot-wall | error-page | login | shrunk | ... (monitor.extract.guards)
    db["captures"].add_column("rendered", int, not_null_default=0)  # 1: fetched through a browser
    db["targets"].add_column("render", str, not_null_default="plain")  # plain | js
    db["targets"].add_column("guard", str)  # the guard that last held a capture back, if any
    # 1: a re-extraction of a stored snapshot (extractor or selector change): never alerts.
    db["versions"].add_column("technical", int, not_null_default=0)


def _add_scheduling(db: sqlite_utils.Database) -> None:
    """Claims by the daemon, per-target jitter, retired targets (see docs/decisions/0006)."""
    db["targets"].add_column("jitter_seconds", int)  # NULL: 5% of the interval
    db["targets"].add_column("claimed_at", str)  # set when a tick claims it; cleared on record
    db["targets"].create_index(["state", "next_fetch_at"])


def _add_backfill_sources(db: sqlite_utils.Database) -> None:
    """Where captures and versions came from: live fetches or archives (docs/decisions/0008)."""
    db["captures"].add_column("source", str, not_null_default="live")  # live | wayback | ota
    db["captures"].add_column("archived_at", str)  # when the archive saw the page (the version's time)
    db["captures"].add_column("archive_ref", str)  # the archived copy: Wayback URL or OTA commit
    db["versions"].add_column("source", str, not_null_default="live")
    db["captures"].create_index(["target_id", "source", "archived_at"])


def _add_known_bodies(db: sqlite_utils.Database) -> None:
    """What each captured body extracted to, so identical bytes are never extracted twice."""
    db["captures"].add_column("compare_sha256", str)  # hash of the body's comparable text
    db["captures"].add_column("extraction_key", str)  # extractor version + selectors it used
    db["captures"].create_index(["target_id", "body_sha256"])


def _add_page_skeletons(db: sqlite_utils.Database) -> None:
    """Cheaper unchanged captures (docs/performance.md).

    A capture's page skeleton (``monitor.extract.skeleton``) lets a page whose bytes changed but whose
    text-bearing markup did not skip extraction. And the full-text index is refreshed only when
    a version's text changes: sqlite-utils' trigger re-indexed the whole policy on every
    ``last_seen_at`` update, i.e. on every unchanged capture.
    """
    db["captures"].add_column("skeleton_sha256", str)
    db["captures"].create_index(["target_id", "skeleton_sha256"])
    db.execute("DROP TRIGGER IF EXISTS versions_au")
    db.execute('CREATE TRIGGER versions_au AFTER UPDATE OF text ON versions BEGIN '
               'INSERT INTO versions_fts (versions_fts, rowid, text) VALUES (\'delete\', old.rowid, old.text); '
               'INSERT INTO versions_fts (rowid, text) VALUES (new.rowid, new.text); END')


def _add_ledger_timestamps(db: sqlite_utils.Database) -> None:
    """RFC 3161 tokens over ledger heads (append-only), and failed requests (docs/evidence.md)."""
    db["ledger_timestamps"].create(
        {
            "id": int,
            "seq": int,  # the ledger entry (the head when requested) the token covers
            "entry_hash": str,  # that entry's hash: the token's message imprint
            "tsa_url": str,  # redacted: credentials and query values are never stored
            "gen_time": str,  # the TSA's time, from the token
            "serial": str,  # the TSA's serial number of the token (hex)
            "policy": str,  # the TSA policy OID
            "tsa_name": str,  # subject of the certificate that signed it
            "token_der": bytes,  # the TSA's whole DER TimeStampResp (status + signed token)
            "token_sha256": str,
            "requested_at": str,
        },
        pk="id",
        not_null={"seq", "entry_hash", "tsa_url", "gen_time", "token_der", "token_sha256", "requested_at"},
    )
    db["ledger_timestamps"].create_index(["seq"])
    # Append-only, like the ledger it vouches for.
    db.execute("CREATE TRIGGER ledger_timestamps_no_update BEFORE UPDATE ON ledger_timestamps "
               "BEGIN SELECT RAISE(ABORT, 'ledger timestamps are append-only'); END")
    db.execute("CREATE TRIGGER ledger_timestamps_no_delete BEFORE DELETE ON ledger_timestamps "
               "BEGIN SELECT RAISE(ABORT, 'ledger timestamps are append-only'); END")
    db["timestamp_failures"].create(
        {"id": int, "attempted_at": str, "seq": int, "tsa_url": str, "error": str},  # tsa_url redacted
        pk="id",
    )


def _add_warc_revisits(db: sqlite_utils.Database) -> None:
    """A capture whose WARC response is a ``revisit`` record names the record it points at."""
    db["captures"].add_column("warc_refers_to", str)


def _move_channel_secrets_out(db: sqlite_utils.Database) -> None:
    """Channel credentials leave the shared database for a secrets file (docs/decisions/0013):
    ``apprise_url`` keeps the redacted URL, ``secret_ref`` says where the full one is."""
    db["subscriptions"].add_column("secret_ref", str)  # file:<id> | env:<NAME>
    waiting = db.execute("SELECT count(*) FROM subscriptions WHERE secret_ref IS NULL "
                         "AND apprise_url IS NOT NULL").fetchone()[0]
    if not waiting:
        return
    # The notifier owns its secrets' format (and apprise, which redacts): it does the move.
    if not any(event == events.CHANNEL_URLS_MIGRATING for event, _ in events.registered()):
        raise StoreError("this database keeps channel URLs that must move to the secrets file "
                         "before it can be used: open it with the policywatch command")
    events.emit(events.CHANNEL_URLS_MIGRATING, None, {"db": db})


def _add_change_summaries(db: sqlite_utils.Database) -> None:
    """A plain-language summary of each change (``monitor.compare.summary``, JSON): derived from the
    evidence, so not in the ledger's hash. Existing changes get theirs when read (a stale or
    missing summary is re-derived) or from ``policywatch summaries rebuild``, not here: a big
    store would wait minutes on open."""
    db["changes"].add_column("summary", str)


def _add_ledger_format_2(db: sqlite_utils.Database) -> None:
    """Ledger entries of format 2 (monitor/evidence/ledger.py): the bound content and the target it is
    of. Entries already written keep ``format`` NULL (format 1) and are verified as before."""
    for column, kind in (("format", int), ("target_id", int), ("content", str)):
        db["ledger"].add_column(column, kind)


def _add_readable_changes_view(db: sqlite_utils.Database) -> None:
    """``changes_readable``: one row a change in words, for journalists opening the database in
    Datasette or sqlite3 (docs/web.md). A view, so it never goes stale; ``headline`` is NULL for
    changes recorded before summaries existed until their summary is first derived."""
    db.execute("""CREATE VIEW IF NOT EXISTS changes_readable AS
        SELECT c.id AS change_id, t.company, t.doc_type AS document, t.url, c.detected_at AS detected,
               c.class, c.severity, c.direction, c.topics,
               json_extract(c.summary, '$.headline') AS headline, c.summary,
               '/change/' || c.id || '/' AS permalink, c.classifier
        FROM changes c JOIN targets t ON t.id = c.target_id""")


def _add_change_date_indexes(db: sqlite_utils.Database) -> None:
    """Lists of changes newest by date (a backfilled change takes its place in time, not the top of
    the list: docs/web.md), of all changes or a document's; and the trends page's scan of a range
    of months' material changes, covered by the index (a change row is wide: evidence, hunks)."""
    # if_not_exists: a database rolled back to an older schema by hand may still hold them.
    db["changes"].create_index(["detected_at"], if_not_exists=True)
    db["changes"].create_index(["target_id", "detected_at"], if_not_exists=True)
    db["changes"].create_index(["class", "detected_at", "target_id", "topics"], if_not_exists=True)


# Columns naming another table's row, declared so that SQLite refuses a dangling one from now on
# (the store opens with ``PRAGMA foreign_keys = ON``) and Datasette links them. The first
# migration declared the ``target_id`` columns and the outbox's ``change_id``, ``subscription_id``
# and ``delivery_id``. Left undeclared on purpose: ``captures.body_sha256`` (``maintain
# --prune-unchanged-days`` deletes bodies only old unchanged captures need; the capture keeps the
# hash), ``operator_events.target_id`` (an event keeps a copy of its target), ``ledger.ref_id``
# (a version, change or delivery, by ``kind``) and the ledger's other references: the append-only
# evidence tables are never rebuilt.
FOREIGN_KEYS = [
    ("captures", "version_id", "versions", "id"),
    ("versions", "capture_id", "captures", "id"),
    ("versions", "snapshot_sha256", "snapshots", "sha256"),
    ("versions", "returns_to_version_id", "versions", "id"),
    ("changes", "from_version_id", "versions", "id"),
    ("changes", "to_version_id", "versions", "id"),
    ("deliveries", "operator_event_id", "operator_events", "id"),
    ("deliveries", "digest_delivery_id", "deliveries", "id"),
]


def _numeric_defaults(table: sqlite_utils.db.Table) -> dict:
    """A table's numeric column defaults as numbers: ``transform`` would otherwise re-declare
    ``DEFAULT 0`` as ``DEFAULT '0'`` (the same value in an INTEGER column, but not the same schema)."""
    defaults = {}
    for column in table.columns:
        try:
            defaults[column.name] = int(column.default_value)
        except (TypeError, ValueError):
            pass
    return defaults


def _declare_foreign_keys(db: sqlite_utils.Database) -> None:
    """Declare ``FOREIGN_KEYS`` not yet declared: sqlite-utils rebuilds each table (``transform``:
    copy, drop, rename, indexes re-created; views are left as they are and still answer). It
    does not keep a table's triggers (the full-text index's on ``versions``): re-created here. Runs
    with foreign keys off (``migrate``): rows that already point nowhere are kept, and named in a
    warning (``PRAGMA foreign_key_check`` lists them), never refused or deleted."""
    tables = sorted({table for table, *_ in FOREIGN_KEYS})
    marks = ", ".join("?" * len(tables))
    triggers = db.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({marks})",
                          tables).fetchall()
    for table in tables:
        declared = {(fk.column, fk.other_table, fk.other_column) for fk in db[table].foreign_keys}
        missing = [(column, other, key) for name, column, other, key in FOREIGN_KEYS
                   if name == table and (column, other, key) not in declared]
        if missing:
            db[table].transform(add_foreign_keys=missing, defaults=_numeric_defaults(db[table]))
    # Deleting a parent row makes SQLite look for its children. Snapshots are the only parents
    # ever deleted (``maintain --prune-unchanged-days``): unindexed, each delete scanned every
    # version (0.3 s a snapshot at 100,000 versions; 0.02 ms with the index).
    db["versions"].create_index(["snapshot_sha256"], if_not_exists=True)
    kept = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    for name, sql in triggers:
        if name not in kept:
            db.execute(sql)
    _warn_of_dangling_rows(db)


def _warn_of_dangling_rows(db: sqlite_utils.Database) -> None:
    """Name, by foreign key, the rows that point to rows that do not exist (none, normally)."""
    dangling: dict[str, int] = {}
    for table, _rowid, parent, _fk in db.execute("PRAGMA foreign_key_check").fetchall():
        dangling[f"{table} → {parent}"] = dangling.get(f"{table} → {parent}", 0) + 1
    if dangling:
        logging.getLogger("policywatch.store").warning(
            "foreign keys declared; rows kept that point to rows that do not exist (PRAGMA "
            "foreign_key_check lists them): %s", ", ".join(f"{n} in {k}" for k, n in sorted(dangling.items())))


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _create_core_tables,
    _add_evidence,
    _add_notify_outbox,
    _add_extraction_guards,
    _add_scheduling,
    _add_backfill_sources,
    _add_known_bodies,
    _add_page_skeletons,
    _add_ledger_timestamps,
    _add_warc_revisits,
    _move_channel_secrets_out,
    _add_change_summaries,
    _add_ledger_format_2,
    _add_readable_changes_view,
    _add_change_date_indexes,
    _declare_foreign_keys,
]


def _numbered(number: int, step: Callable[[sqlite_utils.Database], None]):
    """``step``, then ``PRAGMA user_version = number``, in the step's transaction."""
    def run(db: sqlite_utils.Database) -> None:
        step(db)
        # PRAGMA user_version takes no parameters; number is an int we control.
        db.execute(f"PRAGMA user_version = {int(number)}")
    return run


SCHEMA = Migrations(MIGRATION_SET)
for _number, _step in enumerate(MIGRATIONS, start=1):
    SCHEMA(name=_step.__name__)(_numbered(_number, _step))


def _adopt_numbered(db: sqlite_utils.Database) -> None:
    """A database from before ``Migrations``: record as applied the first ``user_version`` of
    ``MIGRATIONS`` (what the older policywatch ran), so that none runs twice."""
    if SCHEMA.applied(db):
        return
    ran = db.execute("PRAGMA user_version").fetchone()[0]
    if not ran:
        return
    adopted_at = str(datetime.datetime.now(datetime.UTC))
    with db.atomic():
        SCHEMA.ensure_migrations_table(db)
        db[SCHEMA.migrations_table].insert_all(
            {"migration_set": MIGRATION_SET, "name": step.__name__, "applied_at": adopted_at}
            for step in MIGRATIONS[:ran])


def migrate(db: sqlite_utils.Database) -> int:
    """Apply the migrations not yet applied; return the schema version now in force."""
    _adopt_numbered(db)
    if SCHEMA.pending(db):
        # SQLite's recipe for rebuilding a table: foreign keys off (only possible outside a
        # transaction), so a rebuild neither trips on nor deletes rows that already dangle.
        enforced = db.execute("PRAGMA foreign_keys").fetchone()[0]
        db.execute("PRAGMA foreign_keys = OFF")
        try:
            SCHEMA.apply(db)
        finally:
            db.execute(f"PRAGMA foreign_keys = {'ON' if enforced else 'OFF'}")
        # Old page images (e.g. of rows a migration rewrote) leave the -wal file.
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return len(MIGRATIONS)
