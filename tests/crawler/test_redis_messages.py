"""The Redis message schema, and the recorder's claim tokens (real SQLite, real redis-server)."""

import json

import pytest

from monitor.record import Capture, Confirmation, record_capture
from monitor.store import open_store
from monitor.timeutil import now_iso
from tests.crawler.test_redis_distributed import PAGE

redis = pytest.importorskip("redis", reason="the redis extra is part of the test extra")
from crawler.redis import queue as redis_queue  # noqa: E402
from crawler.redis.queue import MessageError, parse_capture_message, parse_target_message  # noqa: E402

GOOD_TARGET = {"v": 1, "target_id": 7, "url": "https://example.com/privacy", "claim": "2026-01-01T00:00:00.000000Z",
               "etag": '"abc"', "last_modified": None, "select": ["main"], "remove": [], "render": None,
               "compare_sha256": None}


@pytest.mark.parametrize("change, reason", [
    ({"v": 2}, "schema version"),
    ({"target_id": "7"}, "target_id"),
    ({"target_id": True}, "target_id"),
    ({"target_id": -1}, "positive"),
    ({"url": "ftp://example.com/"}, "http"),
    ({"url": None}, "url"),
    ({"claim": None}, "claim"),
    ({"select": "main"}, "select"),
    ({"remove": [1]}, "remove"),
    ({"etag": 5}, "etag"),
])
def test_target_messages_are_validated(change, reason):
    with pytest.raises(MessageError, match=reason):
        parse_target_message(json.dumps({**GOOD_TARGET, **change}))


@pytest.mark.parametrize("data", [b"", b"not json", b"[1]", b"\xff\xfe", b"x" * 70_000])
def test_garbage_is_a_message_error(data):
    with pytest.raises(MessageError):
        parse_target_message(data)


def test_a_valid_target_message_becomes_the_spiders_target_dict():
    target = parse_target_message(json.dumps(GOOD_TARGET).encode())
    assert target["id"] == 7 and target["select"] == ["main"] and target["etag"] == '"abc"'
    row = {"id": 7, "url": GOOD_TARGET["url"], "claimed_at": GOOD_TARGET["claim"], "etag": '"abc"',
           "last_modified": None, "select": ["main"], "remove": [], "render": None}
    assert parse_target_message(redis_queue.target_message(row)) == target


def test_capture_messages_round_trip_bodies_headers_and_errors():
    body = "Politique de confidentialité ✓".encode() + bytes(range(256))
    capture = Capture(target_id=3, url="https://e.com/p", started_at=now_iso(), status=200,
                      final_url="https://e.com/p?x", headers={"content-type": "text/html"}, body=body,
                      confirmation=Confirmation("https://e.com/p?x", now_iso(), {"user-agent": "pw"}, status=200,
                                                headers={"content-type": "text/html"}, body=body),
                      content_type="text/html", elapsed_ms=12, rendered=True)
    again, claim = parse_capture_message(redis_queue.capture_message(capture, "token-1", "host:1"))
    assert claim == "token-1" and again == capture
    failed = Capture(target_id=3, url="https://e.com/p", started_at=now_iso(), error_kind="timeout", error="slow")
    again, _ = parse_capture_message(redis_queue.capture_message(failed, "t"))
    assert again == failed and again.body is None
    message = json.loads(redis_queue.capture_message(capture, "t"))
    for broken in ({"body": "not base64!"}, {"status": None, "error_kind": None}, {"headers": {"a": 1}},
                   {"claim": 5}, {"fetched_at": None}):
        with pytest.raises(MessageError):
            parse_capture_message(json.dumps({**message, **broken}))


@pytest.mark.slow
def test_a_late_answer_to_a_requeued_claim_is_dropped_not_recorded_twice(site, db_path, redis_url):
    from crawler.redis.distributed import Recorder
    url = site.html("/p", PAGE.format(n=1, extra=""))
    store = open_store(db_path)
    target = store.add_target(url, "Acme")
    client = redis.Redis.from_url(redis_url)
    keys = redis_queue.Keys()
    recorder = Recorder(str(db_path), client, keys, lease_seconds=0)
    try:
        recorder.tick(batch=10)
        recorder.requeue_expired()  # a zero lease: the first claim lapsed at once
        assert recorder.counts["requeued"] == 1
        old, new = (parse_target_message(m)["claim"] for m in client.lrange(keys.targets, 0, -1))
        assert old != new and store.get_target(target["id"])["claimed_at"] == new

        def answer(claim):
            capture = Capture(target_id=target["id"], url=url, started_at=now_iso(), status=200, final_url=url,
                              headers={"content-type": "text/html"}, content_type="text/html",
                              body=PAGE.format(n=1, extra="").encode())
            recorder.record_messages([redis_queue.capture_message(capture, claim)])

        answer(old)  # the slow worker's answer to the lapsed claim
        answer(new)
        answer(new)  # the same answer delivered twice
        assert recorder.counts["captures"] == 1 and recorder.counts["stale"] == 2
        assert recorder.outstanding == {}
    finally:
        recorder.close()
        client.close()
    assert [c["outcome"] for c in store.captures(target["id"])] == ["first-version"]
    # Even a second record_capture of the same text makes no second version (a late duplicate).
    again = record_capture(store, Capture(target_id=target["id"], url=url, started_at=now_iso(), status=200,
                                          headers={"content-type": "text/html"}, content_type="text/html",
                                          body=PAGE.format(n=1, extra="").encode()))
    assert again.outcome == "unchanged" and len(store.versions(target["id"])) == 1
    store.close()


def test_run_with_an_unreachable_redis_fails_with_one_readable_line(cli):
    cli("init", check=0)  # without a database, run refuses before reaching for Redis
    result = cli("run", "--redis", "redis://127.0.0.1:1/0", "--ticks", "1")
    assert result.returncode == 1 and "cannot reach Redis" in result.stderr, result
    assert "Traceback" not in result.stderr


def test_worker_help_lists_its_options(cli):
    result = cli("worker", "--help", check=0)
    for option in ("--redis", "--prefix", "--concurrency", "--render", "--set"):
        assert option in result.stdout
