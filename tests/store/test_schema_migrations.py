"""The schema on sqlite-utils' Migrations: databases made by every earlier policywatch (which
counted the migrations run in ``PRAGMA user_version``) are adopted and reach the same schema
as a new one, running no migration twice and losing no row."""

import sqlite3
from collections import defaultdict

import pytest
import sqlite_utils

from monitor import events
from monitor.errors import StoreError
from monitor.store import open_store, schema


def _as_older_policywatch_made_it(path, ran: int) -> None:
    """The first ``ran`` migrations applied the way policywatch did before Migrations."""
    db = sqlite_utils.Database(path)
    for number, step in enumerate(schema.MIGRATIONS[:ran], start=1):
        with db.atomic():
            step(db)
            db.execute(f"PRAGMA user_version = {number}")
    if ran:
        db.execute("INSERT INTO targets (company, doc_type, url, state) VALUES ('Acme', 'Privacy Policy', "
                   "'https://acme.example/privacy', 'ok')")
        db.conn.commit()
    db.close()


def _schema(path) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        return sorted(connection.execute("SELECT type, name, sql FROM sqlite_master "
                                          "WHERE instr(name, 'sqlite_migrations') = 0"))


@pytest.mark.parametrize("ran", range(len(schema.MIGRATIONS) + 1))
def test_an_older_database_is_adopted_and_reaches_the_same_schema(tmp_path, ran):
    fresh = tmp_path / "fresh.db"
    open_store(fresh).close()
    old = tmp_path / "old.db"
    _as_older_policywatch_made_it(old, ran)
    for _ in range(2):  # the second open applies nothing
        open_store(old).close()
    assert _schema(old) == _schema(fresh)
    with sqlite3.connect(old) as connection:
        names = [row[0] for row in connection.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = 'policywatch' ORDER BY id")]
        assert names == [step.__name__ for step in schema.MIGRATIONS]
        assert connection.execute("PRAGMA user_version").fetchone()[0] == len(schema.MIGRATIONS)
        assert connection.execute("SELECT count(*) FROM targets").fetchone()[0] == (1 if ran else 0)


def test_channel_urls_are_not_left_behind_when_nothing_moves_them(tmp_path, monkeypatch):
    """Without the notifier listening, an old database with channel URLs is refused, unchanged."""
    monkeypatch.setattr(events, "_listeners", defaultdict(list))
    path = tmp_path / "old.db"
    ran = schema.MIGRATIONS.index(schema._move_channel_secrets_out)
    _as_older_policywatch_made_it(path, ran)
    with sqlite3.connect(path) as connection:
        connection.execute("INSERT INTO subscriptions (name, apprise_url, created_at) "
                           "VALUES ('old', 'json://example.invalid/hook-secret', '2026-01-01')")
    before = _schema(path)
    with pytest.raises(StoreError, match="channel URLs"):
        open_store(path)
    assert _schema(path) == before
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == ran
