"""Crawl throughput: ``policywatch crawl`` against bare Scrapy fetching the same pages.

    .venv/bin/python bench/bench_crawl.py                       # 2,000 pages, 20 hosts, 3 repeats
    .venv/bin/python bench/bench_crawl.py --pages 500 --repeat 1 # a quick look
    .venv/bin/python bench/bench_crawl.py --profile rotating     # py-spy one policywatch run
    PYSPY_IDLE=1 .venv/bin/python bench/bench_crawl.py --profile etag  # … counting idle time too

Pages (~16 KB of policy HTML, bench/pages.py) are served from memory by several server
processes on 127.0.0.1 … 127.0.0.20: the crawler allows one request at a time per domain, so
the pages are spread over 20 host names. Both contenders run as fresh processes, one after the
other against the same server, ``--repeat`` times, alternating:

- bare Scrapy: a spider that fetches each URL and keeps nothing, with Scrapy's defaults except
  the crawler's concurrency (16 requests, 1 per domain) and its reactor;
- ``policywatch crawl --all --no-notify``: fetch, change check (bytes, then page skeleton),
  confirm; then WARC, snapshot, extract when needed, normalise, compare and record in its writer
  process (docs/decisions/0010).

Figures: pages/s over the whole command (process start to exit), and pages/s between the
first and the last response ("steady": start-up excluded). Scenarios:

- ``first``: the store is empty (every page becomes a first version) — for information;
- ``unchanged``: a second crawl of the same bytes, no validators (no conditional GET);
- ``rotating``: a fresh token in every response (raw bytes change, text does not);
- ``etag``: pages carry an ETag; policywatch sends If-None-Match and gets 304s — for information
  (bare Scrapy sends no validators, so it is not the same work).
"""

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pages import ServerProcesses  # noqa: E402

SCENARIOS = ("unchanged", "rotating", "etag")


# -- bare Scrapy (run in a child: the reactor cannot restart) ---------------------------------
def bare_scrapy(url_file: str, concurrency: int) -> None:
    import scrapy
    from scrapy.crawler import CrawlerProcess

    urls = Path(url_file).read_text().split()
    seen = {"pages": 0, "bytes": 0, "first": None, "last": None}

    class Bare(scrapy.Spider):
        name = "bare"

        async def start(self):
            for link in urls:
                yield scrapy.Request(link, dont_filter=True)

        def parse(self, response):
            moment = time.time()
            seen["first"] = seen["first"] or moment
            seen["last"] = moment
            seen["pages"] += 1
            seen["bytes"] += len(response.body)

    process = CrawlerProcess({
        "CONCURRENT_REQUESTS": concurrency, "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False,
    })
    process.crawl(Bare)
    process.start()
    print(json.dumps(seen))


# -- the parent ------------------------------------------------------------------------------
def timed(command: list[str], env: dict | None = None) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})},
                          cwd=ROOT)
    return time.perf_counter() - started, done


def run_bare(url_file: Path, count: int, concurrency: int) -> dict:
    wall, done = timed([sys.executable, __file__, "--bare-worker", str(url_file),
                        "--concurrency", str(concurrency)])
    if done.returncode != 0:
        raise SystemExit(f"bare scrapy failed: {done.stderr[-2000:]}")
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["pages"] == count, seen
    return {"wall": wall, "per_s": count / wall, "steady_per_s": (count - 1) / (seen["last"] - seen["first"])}


def _stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def run_policywatch(db: Path, count: int, expect: str, profile: Path | None = None) -> dict:
    with sqlite3.connect(db) as connection:
        before = connection.execute("SELECT coalesce(max(id), 0) FROM captures").fetchone()[0]
    command = [sys.executable, "-m", "monitor.cli.main", "crawl", "--all", "--no-notify"]
    if profile:
        idle = ["--idle"] if os.environ.get("PYSPY_IDLE") else []
        command = [str(ROOT / ".venv/bin/py-spy"), "record", "--rate", "200", "--format", "raw", *idle,
                   "-o", str(profile), "--", *command]
    wall, done = timed(command, {"POLICYWATCH_DB": str(db)})
    if done.returncode != 0:
        raise SystemExit(f"policywatch crawl failed ({done.returncode}): {done.stderr[-2000:]}")
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT outcome, count(*), min(fetched_at), max(fetched_at) FROM captures "
                                  "WHERE id > ? GROUP BY outcome", [before]).fetchall()
    outcomes = {outcome: n for outcome, n, _, _ in rows}
    assert sum(outcomes.values()) == count and set(outcomes) == {expect}, outcomes
    first, last = min(r[2] for r in rows), max(r[3] for r in rows)
    return {"wall": wall, "per_s": count / wall, "steady_per_s": (count - 1) / (_stamp(last) - _stamp(first))}


def make_store(db: Path, urls: list[str]) -> None:
    from monitor.store import open_store
    store = open_store(db)
    for n, link in enumerate(urls):
        store.add_target(link, f"Company {n}")
    store.close()


def median(runs: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--server-processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16, help="CONCURRENT_REQUESTS for bare Scrapy")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--profile", choices=SCENARIOS, help="py-spy one policywatch run of this scenario")
    parser.add_argument("--bare-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_worker:
        bare_scrapy(args.bare_worker, args.concurrency)
        return

    print(f"{args.pages} pages over {args.hosts} hosts, {args.server_processes} server processes, "
          f"{args.repeat} repeat(s); load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    results = {}
    with tempfile.TemporaryDirectory(prefix="pw-bench-crawl-") as tmp:
        tmp = Path(tmp)
        scenarios = [s for s in args.scenarios.split(",") if s]
        if args.profile:
            scenarios = [args.profile]
        for scenario in scenarios:
            mode = "rotating" if scenario == "rotating" else "static"
            with ServerProcesses(args.pages, hosts=args.hosts, processes=args.server_processes,
                                 mode=mode, etag=scenario == "etag") as server:
                urls = [server.url(n) for n in range(args.pages)]
                url_file = tmp / f"urls-{scenario}.txt"
                url_file.write_text("\n".join(urls))
                db = tmp / f"{scenario}.db"
                make_store(db, urls)
                first = run_policywatch(db, args.pages, "first-version")
                print(f"[{scenario}] first crawl (all first versions): {first['per_s']:.0f} pages/s "
                      f"(steady {first['steady_per_s']:.0f})", flush=True)
                expect = "not-modified" if scenario == "etag" else "unchanged"
                if args.profile:
                    out = Path(tempfile.gettempdir()) / f"policywatch-profile-{scenario}.txt"
                    run_policywatch(db, args.pages, expect, profile=out)
                    print(f"py-spy raw profile written to {out}")
                    return
                bare_runs, pw_runs = [], []
                for _ in range(args.repeat):
                    bare_runs.append(run_bare(url_file, args.pages, args.concurrency))
                    pw_runs.append(run_policywatch(db, args.pages, expect))
                    print(f"[{scenario}] bare {bare_runs[-1]['per_s']:.0f}/s (steady "
                          f"{bare_runs[-1]['steady_per_s']:.0f}), policywatch {pw_runs[-1]['per_s']:.0f}/s "
                          f"(steady {pw_runs[-1]['steady_per_s']:.0f})", flush=True)
                results[scenario] = (bare_runs, pw_runs)

    print("\nmedians (pages/s)           bare scrapy   policywatch   ratio")
    for scenario, (bare_runs, pw_runs) in results.items():
        for key, label in (("per_s", "whole command"), ("steady_per_s", "first→last response")):
            bare, pw = median(bare_runs, key), median(pw_runs, key)
            print(f"{scenario:10} {label:20} {bare:9.0f}   {pw:11.0f}   {pw / bare:5.2f}×")


if __name__ == "__main__":
    main()
