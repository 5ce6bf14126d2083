"""Declared foreign keys (``schema._declare_foreign_keys``): an existing database with real
history reaches them keeping every row (dangling ones too, named in a warning), its view and its
full-text index; a new database has them; from then on SQLite refuses a dangling reference."""

import logging
import sqlite3

import pytest
import sqlite_utils

from monitor.record import Capture, record_capture
from monitor.store import Store, open_store, schema
from monitor.timeutil import now_iso

PAGE = "<html><body><main><h1>Privacy</h1><p>We keep logs for 30 days.</p><p>{}</p></main></body></html>"
SENTENCES = ["We do not sell your personal data.", "We may sell your personal data to data brokers.",
             "We may share your precise location with advertising partners."]
REBUILT = sorted({table for table, *_ in schema.FOREIGN_KEYS})


def _record(store: Store, target: dict, sentence: str) -> None:
    record_capture(store, Capture(target["id"], target["url"], now_iso(), status=200,
                                  body=PAGE.format(sentence).encode(), content_type="text/html",
                                  final_url=target["url"]))


def _database_before_foreign_keys(path) -> None:
    """Every migration before ``_declare_foreign_keys``, then three versions and two changes
    recorded, and a change pointing at versions that do not exist (as a hand edit leaves it)."""
    db = sqlite_utils.Database(path)
    schema.SCHEMA.apply(db, stop_before=schema._declare_foreign_keys.__name__)
    store = Store(db, str(path))
    target = store.add_target("https://acme.example/privacy", "Acme")
    for sentence in SENTENCES:
        _record(store, target, sentence)
    db.execute("INSERT INTO changes (target_id, from_version_id, to_version_id, detected_at, class, severity, "
               "topics, direction, evidence, hunks, classifier) VALUES (?, 998, 999, '2024-01-01T00:00:00Z', "
               "'noise', 0, '[]', 'none', '[]', '[]', 'rules')", [target["id"]])
    db.conn.commit()
    db.close()


def _rows(path) -> dict:
    """Every row of every table and of the view, and what the full-text index finds."""
    with sqlite3.connect(path) as connection:
        tables = [name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_sqlite%' ESCAPE '\\'")]
        # Sorted in Python: the full-text index's shadow tables have no rowid to order by.
        rows = {table: sorted(connection.execute(f"SELECT * FROM [{table}]").fetchall(), key=repr)
                for table in tables}
        rows["changes_readable"] = connection.execute("SELECT * FROM changes_readable ORDER BY change_id").fetchall()
        rows["search: sell"] = connection.execute(
            "SELECT rowid FROM versions_fts WHERE versions_fts MATCH 'sell' ORDER BY rowid").fetchall()
        return rows


def _columns(path) -> dict:
    with sqlite3.connect(path) as connection:
        return {table: connection.execute(f"PRAGMA table_info([{table}])").fetchall() for table in REBUILT}


def _declared(db: sqlite_utils.Database) -> set:
    return {(fk.table, fk.column, fk.other_table, fk.other_column)
            for table in db.table_names() for fk in db[table].foreign_keys}


def test_an_existing_database_gets_its_foreign_keys_and_keeps_every_row(tmp_path, caplog):
    path = tmp_path / "old.db"
    _database_before_foreign_keys(path)
    rows, columns = _rows(path), _columns(path)
    assert len(rows["versions"]) == 3 and len(rows["changes"]) == 3 and len(rows["search: sell"]) == 2
    assert not set(schema.FOREIGN_KEYS) <= _declared(sqlite_utils.Database(path))

    with caplog.at_level(logging.WARNING, logger="policywatch.store"):
        store = open_store(path)
    assert set(schema.FOREIGN_KEYS) <= _declared(store.db)
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1  # enforced again after the rebuild
    [warning] = [r.getMessage() for r in caplog.records if r.name == "policywatch.store"]
    assert "2 in changes → versions" in warning  # the hand-edited change: both its versions missing
    target = store.get_target(1)
    _record(store, target, "We never share your precise location.")  # the rebuilt versions table indexes it
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        store.db.execute("UPDATE changes SET to_version_id = 12345 WHERE id = 1")
    store.close()

    after = _rows(path)
    assert _columns(path) == columns  # every column as it was: types, NOT NULL, defaults
    assert after["versions"][:3] == rows["versions"] and len(after["versions"]) == 4
    assert after["changes_readable"][:3] == rows["changes_readable"]
    assert after["search: sell"] == rows["search: sell"]
    with sqlite3.connect(path) as connection:
        found = connection.execute("SELECT rowid FROM versions_fts WHERE versions_fts MATCH 'never'").fetchall()
        assert found == [(4,)]
    for table in ("targets", "snapshots", "ledger", "deliveries", "operator_events"):
        assert len(after[table]) >= len(rows[table])
    assert after["changes"][:3] == rows["changes"]  # the dangling change is kept, not deleted


def test_a_new_database_declares_them_and_reopening_rebuilds_nothing(tmp_path, caplog):
    path = tmp_path / "new.db"
    store = open_store(path)
    assert set(schema.FOREIGN_KEYS) <= _declared(store.db)
    assert ("captures", "target_id", "targets", "id") in _declared(store.db)
    store.close()
    before = _rows(path)
    with caplog.at_level(logging.WARNING, logger="policywatch.store"):
        open_store(path).close()
    assert _rows(path) == before and not caplog.records


def test_the_migration_applied_again_changes_nothing(tmp_path):
    """As when a database's migrations record was rolled back: declared keys are not redeclared."""
    path = tmp_path / "pw.db"
    store = open_store(path)
    _record(store, store.add_target("https://acme.example/privacy", "Acme"), SENTENCES[0])
    with sqlite3.connect(path) as connection:
        before = sorted(connection.execute("SELECT type, name, sql FROM sqlite_master"))
    schema._declare_foreign_keys(store.db)
    store.db.conn.commit()
    with sqlite3.connect(path) as connection:
        assert sorted(connection.execute("SELECT type, name, sql FROM sqlite_master")) == before
    store.close()
