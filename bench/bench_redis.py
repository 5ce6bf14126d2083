"""Benchmark distributed crawling: pages/s with 1, 2 and 4 worker processes, side by side.

    .venv/bin/python bench/bench_redis.py                   # 600 pages, 1/2/4 workers
    .venv/bin/python bench/bench_redis.py --pages 1200 --workers 1 2 4 8 --delay 0.05

Everything is real and local: Debian's redis-server on a free port on 127.0.0.1, one threaded
page server (each page ~12 KB of policy-like HTML, answered after ``--delay`` seconds to stand
in for a remote site's latency), ``policywatch worker`` processes and one ``policywatch run
--redis --ticks 1`` that claims every target, pushes them, and records the captures (WARC +
extraction + version). Workers are started and idle on the queue before the clock starts. Two
figures: *fetched* is the workers alone (target messages pushed straight to the queue, until every
capture message is back), *recorded* is targets / wall time of the run, end to end. On a 2-core
machine the page server, the workers and the recorder share the cores: more workers than cores
mostly measure contention, and the single recorder's extraction caps the rate.
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.store import open_store  # noqa: E402
from tests.sites import FixtureSite, Page  # noqa: E402

SENTENCE = ("We collect your {thing} when you use the service, and we share it with our service providers "
            "only to operate the service; you can ask us to delete it at any time. ")
THINGS = ["email address", "device identifiers", "location", "payment details", "browsing history"]


def page(n: int) -> bytes:
    body = "".join(f"<p>{SENTENCE.format(thing=THINGS[(n + i) % len(THINGS)])} Section {i}.</p>" for i in range(60))
    return f"<html><body><main><h1>Privacy policy of company {n}</h1>{body}</main></body></html>".encode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def blocked_poppers(port: int) -> int:
    import redis
    client = redis.Redis(port=port)
    try:
        return sum(1 for c in client.client_list() if c.get("cmd") == "blpop")
    finally:
        client.close()


def measure(site: FixtureSite, redis_port: int, workers: int, pages: int, concurrency: int, work: Path) -> float:
    db = work / f"bench-{workers}.db"
    store = open_store(db)
    for n in range(pages):
        store.add_target(site.url(f"/p{n}"), f"Company {n}")
    store.close()
    url = f"redis://127.0.0.1:{redis_port}/0"
    env = {**os.environ, "POLICYWATCH_DB": str(db), "POLICYWATCH_WARC_DIR": str(work / f"warc-{workers}")}
    prefix = f"bench{workers}"
    procs = [subprocess.Popen([sys.executable, "-m", "monitor.cli.main", "worker", "--redis", url, "--prefix", prefix,
                               "--concurrency", str(concurrency), "-s", "AUTOTHROTTLE_ENABLED=false",
                               "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={concurrency}"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(workers)]
    try:
        deadline = time.monotonic() + 60
        while blocked_poppers(redis_port) < workers:
            if time.monotonic() > deadline:
                raise SystemExit("workers did not start")
            time.sleep(0.1)
        fetch_rate = fetch_only(redis_port, prefix, site, pages)
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "monitor.cli.main", "run", "--redis", url, "--redis-prefix", prefix,
                        "--ticks", "1", "--batch", str(pages), "--no-notify", "--tick", "0.2"],
                       cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=600)
        elapsed = time.monotonic() - started
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    return fetch_rate, pages / elapsed


def fetch_only(redis_port: int, prefix: str, site: FixtureSite, pages: int) -> float:
    """Workers alone: push target messages straight to the queue, time until every capture is back."""
    import redis

    from crawler.redis import queue as redis_queue
    keys, client = redis_queue.Keys(prefix), redis.Redis(port=redis_port)
    try:
        messages = [redis_queue.target_message({"id": n + 1, "url": site.url(f"/p{n}"), "claimed_at": "bench"})
                    for n in range(pages)]
        started = time.monotonic()
        client.rpush(keys.targets, *messages)
        while client.llen(keys.captures) < pages:
            time.sleep(0.02)
        elapsed = time.monotonic() - started
        client.delete(keys.captures)  # answers to fake claims: the recorder would drop them
        return pages / elapsed
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=600)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight per worker")
    parser.add_argument("--delay", type=float, default=0.1, help="page server latency, seconds")
    args = parser.parse_args()
    if not shutil.which("redis-server"):
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    site = FixtureSite()
    for n in range(args.pages):
        site[f"/p{n}"] = Page(page(n), behaviour="slow" if args.delay else "", delay=args.delay)
    site.start()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="pw-bench-redis-") as tmp:
        redis_server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no", "--dir", tmp],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.3)
            rates = {n: measure(site, port, n, args.pages, args.concurrency, Path(tmp)) for n in args.workers}
        finally:
            redis_server.kill()
            redis_server.wait()
            site.stop()
    print(f"{args.pages} pages, {args.concurrency} requests in flight per worker, "
          f"{args.delay * 1000:.0f} ms page latency, {os.cpu_count()} CPU(s)")
    print("workers                 " + "".join(f"{n:>8}" for n in rates))
    print("fetched pages/s         " + "".join(f"{fetch:>8.1f}" for fetch, _ in rates.values()))
    print("recorded pages/s (e2e)  " + "".join(f"{e2e:>8.1f}" for _, e2e in rates.values()))


if __name__ == "__main__":
    main()
