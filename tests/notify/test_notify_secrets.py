"""Channel secrets: never in a log line, stored error, CLI output or the database file (its raw
bytes and its -wal); kept in an owner-only secrets file or the environment; old databases
migrate. Real processes, real receivers on 127.0.0.1; the Telegram URL goes through a refusing
proxy on 127.0.0.1, so no call leaves this machine."""

import json
import os
import sqlite3
from pathlib import Path

import pytest

import notify
from monitor.store import open_store
from monitor.store.schema import MIGRATIONS, _move_channel_secrets_out
from notify import channels
from notify.settings import NotifySettings
from tests.receivers import RefusingProxy, WebhookReceiver, material_change

PATH_TOKEN = "pathtok-5d4c3b2a19f8"
PASSWORD = "pw-8e7d6c5b4a39"
BOT_TOKEN = "123456789:AAHfakeTelegramT0kenZZqq"
MAIL_PASSWORD = "mailpw-71f0e9d8c7"
SECRETS = (PATH_TOKEN, PASSWORD, BOT_TOKEN, BOT_TOKEN.split(":")[1], MAIL_PASSWORD)


def masked(secret: str) -> list[str]:
    """apprise's privacy forms of a secret, which must not be shown either."""
    return [f"{secret[0]}...{secret[-1]}", f"...{secret[-4:]}"]


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret} in {where}: {text[-2000:]}"
        for form in masked(secret):
            assert form not in text, f"{form} (masked {secret}) in {where}"


def database_bytes(db_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db_path.parent.glob(db_path.name + "*")
                    if not p.name.endswith(".lock"))


def assert_not_in_database(db_path: Path) -> None:
    raw = database_bytes(db_path)
    for secret in SECRETS:
        assert secret.encode() not in raw, f"{secret} in the database file or its -wal"


@pytest.mark.parametrize("url", [
    f"json://user:{PASSWORD}@127.0.0.1:9/hooks/{PATH_TOKEN}?x={PATH_TOKEN}",
    f"tgram://{BOT_TOKEN}/12345",
    f"tgram://bot{BOT_TOKEN}/",
    f"mailto://alerts:{MAIL_PASSWORD}@localhost:9?smtp=127.0.0.1&from=a@example.com&to=b@example.com",
    "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general",
    "discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js",
])
def test_redact_shows_no_secret_part_and_no_apprise_mask(url):
    shown = channels.redact(url)
    assert shown.split("://")[0] == url.split("://")[0]
    for part in channels.secret_parts(url, whole=False):
        if len(part) >= 6:
            assert part not in shown
    assert "..." not in shown and "****" not in shown
    assert channels.redact(shown) == shown  # a stored (redacted) URL shows as it is


def test_a_token_never_leaks_into_logs_errors_output_or_the_database(cli, db_path, tmp_path):
    receiver = WebhookReceiver(script=["500", "500"]).start()
    proxy = RefusingProxy().start()
    try:
        # Telegram through a refusing proxy on 127.0.0.1: the plugin runs, its request fails
        # here; requests' error names https://api.telegram.org/bot<TOKEN>/sendMessage.
        env = {"HTTPS_PROXY": proxy.url, "HTTP_PROXY": proxy.url, "NO_PROXY": "127.0.0.1,localhost",
               "POLICYWATCH_NOTIFY_BACKOFF_SECONDS": "0"}
        urls = [receiver.url(path=f"/hooks/{PATH_TOKEN}").replace("json://", f"json://user:{PASSWORD}@"),
                f"tgram://{BOT_TOKEN}/12345",
                f"json://127.0.0.1:9/hooks/{PATH_TOKEN}"]  # refused: the error names the URL
        outputs = [cli("subscribe", url, "--class", "any", env=env, check=0) for url in urls]
        # An invalid mailto: apprise's own message would show the password's first and last character.
        outputs += [cli(*v, "subscribe", f"mailto://user:{MAIL_PASSWORD}@", env=env, check=1)
                    for v in ((), ("-vv",))]
        store = open_store(db_path)
        notify.install()
        material_change(store, "Acme")
        store.close()
        outputs += [cli("notify", env=env), cli("-vv", "notify", env=env),
                    cli("--log-format", "json", "-vv", "notify", env=env),
                    cli("-vv", "subscriptions"), cli("subscriptions", "--json"), cli("subscriptions", "--all"),
                    cli("-vv", "run", "--ticks", "1", env=env)]
    finally:
        receiver.stop()
        proxy.stop()
    for n, result in enumerate(outputs):
        assert_no_secret(result.stdout + result.stderr, f"output {n}")
    assert "json://127.0.0.1:" in outputs[-3].stdout and "tgram://" in outputs[-3].stdout
    assert proxy.asked and all(line.startswith("CONNECT api.telegram.org:443") for line in proxy.asked)
    db = sqlite3.connect(db_path)
    errors = [row[0] for row in db.execute("SELECT error FROM delivery_attempts WHERE error IS NOT NULL")]
    errors += [row[0] for row in db.execute("SELECT last_error FROM deliveries WHERE last_error IS NOT NULL")]
    assert errors and any("Connection refused" in e for e in errors) and any("500" in e for e in errors)
    assert_no_secret(" ".join(errors), "stored errors")
    # Every attempt happened: the json channel got its message after two 500s.
    assert len(receiver.accepted) == 1
    db.close()
    assert_not_in_database(db_path)
    secrets_file = db_path.with_name("policywatch.secrets.json")
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    assert sorted(json.loads(secrets_file.read_text())["channels"].values()) == sorted(urls)


def _old_database(db_path: Path, url: str, error: str) -> None:
    """A database as policywatch kept it before the secrets migration: the full URL in the row."""
    store = open_store(db_path)
    store.close()
    db = sqlite3.connect(db_path)
    db.execute("ALTER TABLE subscriptions DROP COLUMN secret_ref")
    db.execute("INSERT INTO subscriptions (name, apprise_url, active, created_at) VALUES ('old', ?, 1, '2026-01-01')",
               [url])
    db.execute("INSERT INTO deliveries (kind, subscription_id, idempotency_key, status, attempts, "
               "next_attempt_at, last_error, created_at) VALUES ('change', 1, 'k', 'dead', 1, '2026', ?, '2026')",
               [error])
    db.execute("INSERT INTO delivery_attempts (delivery_id, attempted_at, ok, error) VALUES (1, '2026', 0, ?)",
               [error])
    # Back to the schema before the secrets migration (later ones undone too: they run again).
    db.execute("DROP VIEW changes_readable")  # _add_readable_changes_view
    db.execute("ALTER TABLE changes DROP COLUMN summary")  # _add_change_summaries
    for column in ("format", "target_id", "content"):  # _add_ledger_format_2
        db.execute(f"ALTER TABLE ledger DROP COLUMN {column}")
    # Kept as policywatch kept it then: no _sqlite_migrations, the migrations run counted in
    # user_version (monitor/store/schema.py adopts such a database).
    db.execute("DROP TABLE _sqlite_migrations")
    version = MIGRATIONS.index(_move_channel_secrets_out)
    db.execute(f"PRAGMA user_version = {version}")
    db.commit()
    db.close()
    assert PATH_TOKEN.encode() in database_bytes(db_path)


def test_an_existing_database_moves_its_urls_out_and_still_sends(db_path, cli):
    receiver = WebhookReceiver().start()
    try:
        url = receiver.url(path=f"/hooks/{PATH_TOKEN}")
        _old_database(db_path, url, f"Connection refused for {url}")
        listed = cli("subscriptions", "--json", check=0).json()  # opening migrates
        assert listed[0]["apprise_url"] == f"json://127.0.0.1:{receiver.port}/…"
        assert_not_in_database(db_path)
        secrets_file = db_path.with_name("policywatch.secrets.json")
        assert list(json.loads(secrets_file.read_text())["channels"].values()) == [url]
        assert secrets_file.stat().st_mode & 0o777 == 0o600
        db = sqlite3.connect(db_path)
        assert db.execute("SELECT last_error FROM deliveries").fetchone()[0] == "Connection refused for …"
        assert db.execute("SELECT secret_ref FROM subscriptions").fetchone()[0].startswith("file:")
        db.close()
        store = open_store(db_path)
        notify.install()
        material_change(store, "Acme")
        store.close()
        assert cli("notify", "--json", check=0).json()["sent"] == 1
        assert receiver.requests[0]["path"] == f"/hooks/{PATH_TOKEN}"
    finally:
        receiver.stop()


def test_secrets_from_the_environment_and_a_refused_secrets_file(cli, db_path, receiver, tmp_path):
    url = receiver.url(path=f"/hooks/{PATH_TOKEN}")
    env = {"POLICYWATCH_OPS_HOOK": url}
    added = cli("subscribe", "env:POLICYWATCH_OPS_HOOK", "--json", env=env, check=0).json()
    assert added["apprise_url"] == f"json://127.0.0.1:{receiver.port}/…"
    missing = cli("subscribe", "env:NOT_SET_ANYWHERE", check=1)
    assert "NOT_SET_ANYWHERE" in missing.stderr and "not set" in missing.stderr
    assert not db_path.with_name("policywatch.secrets.json").exists()  # nothing went to the file
    store = open_store(db_path)
    notify.install()
    material_change(store, "Acme")
    store.close()
    unset = cli("notify", "--json", check=0).json()
    assert (unset["sent"], unset["failed"], unset["dead"]) == (0, 1, 0)  # kept, not given up
    [(status, error)] = sqlite3.connect(db_path).execute("SELECT status, last_error FROM deliveries").fetchall()
    assert status == "failed" and "POLICYWATCH_OPS_HOOK" in error
    sqlite3.connect(db_path).execute("UPDATE deliveries SET next_attempt_at = '2000'").connection.commit()
    assert cli("notify", "--json", env=env, check=0).json()["sent"] == 1
    assert_not_in_database(db_path)

    # A secrets file others can read is refused, with one line saying how to fix it.
    elsewhere = tmp_path / "conf" / "channels.json"
    env = {"POLICYWATCH_SECRETS": str(elsewhere)}
    cli("subscribe", receiver.url(path="/second"), env=env, check=0)
    assert elsewhere.stat().st_mode & 0o777 == 0o600
    os.chmod(elsewhere, 0o644)
    refused = cli("subscribe", receiver.url(path="/third"), env=env, check=1)
    assert "chmod 600" in refused.stderr and refused.stderr.count("\n") == 1


def test_a_send_error_is_scrubbed_of_a_token_in_the_host():
    """The Telegram case in-process, without any network: the exception text names the token."""
    url = f"tgram://{BOT_TOKEN}/12345"
    error = f"ProxyError: HTTPSConnectionPool(host='api.telegram.org'): url: /bot{BOT_TOKEN}/sendMessage"
    assert_no_secret(channels.scrub(error, url), "scrubbed error")
    assert NotifySettings().send_deadline_seconds < NotifySettings().lease_seconds
