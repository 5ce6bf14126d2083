"""Benchmark the trends page (topics × months) on 10,000 documents × 20 versions.

    .venv/bin/python bench/bench_trends.py                          # generate /tmp/pw-trends.db once, measure
    .venv/bin/python bench/bench_trends.py --docs 1000 --db /tmp/small.db

Goal (issue 18): ``/trends/`` renders in under 200 ms on that store.

The store is bulk-written into the real schema (``open_store`` creates and migrates it, so the
indexes are the production ones; the FTS5 triggers index every version as it is inserted):
recording 200,000 captures through the classifier would measure the classifier. It is shaped
like a real one for what the page reads: 36 months of history ending this month, one change in
five material with one to three topics from the real vocabulary (``TOPICS``; the expanding
topics more often), evidence, hunks and summaries of realistic sizes (so a change row is as
wide as a real one), one document in five with its first half backfilled from the Wayback
Machine or Open Terms Archive, and one version in fifty a technical re-extraction (noise).

The goal is checked on the 12-month table (``/trends/``, ``?year=``) and its CSV; a 36-month table
and the live-only count (which joins each change's version) are reported beside them.

Every page is fetched over HTTP from the real ``policywatch serve`` (uvicorn, one worker) on
127.0.0.1, interleaved with the baseline in the same run: the home page (``/``, one indexed
page of 50 changes), so the ratio says what the aggregation costs over the cheapest list.
Figures: median and worst of ``--repeat`` after one warm-up request each.
"""

import argparse
import datetime
import json
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.compare.classify import TOPICS  # noqa: E402
from monitor.store import Queries, open_store, sha256_hex, slugify  # noqa: E402  # noqa: E402

GOAL_MS = 200
MONTHS = 36
WORDS = ("acme globex initech umbrella stark wayne wonka tyrell cyberdyne soylent hooli vandelay "
         "pied piper dunder mifflin oscorp aperture black mesa monarch nakatomi").split()
SENTENCES = [f"We {verb} your {thing} {why}." for verb in ("collect", "share", "may sell", "retain", "do not sell")
             for thing in ("email address", "precise location", "browsing history", "voice recordings")
             for why in ("to provide the service", "for advertising", "to train our models")]
# Expanding topics are what policies add most (docs/vocabulary.md); the rest appear less often.
WEIGHTS = [3 if topic in ("collection", "sharing", "advertising", "ai-training", "retention") else 1
           for topic in TOPICS]


def _month_start(months_ago: int) -> datetime.datetime:
    today = datetime.datetime.now(datetime.UTC)
    index = today.year * 12 + today.month - 1 - months_ago
    return datetime.datetime(index // 12, index % 12 + 1, 1, tzinfo=datetime.UTC)


def _stamp(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _change_row(rng: random.Random, change_id: int, target_id: int, old: int, new: int, when: str,
                technical: bool) -> list:
    klass = "noise" if technical else rng.choices(["material", "editorial", "noise"], [2, 4, 4])[0]
    topics = list(dict.fromkeys(rng.choices(TOPICS, WEIGHTS, k=rng.randint(1, 3)))) if klass == "material" else []
    evidence = [{"sentence": rng.choice(SENTENCES), "side": rng.choice(["new", "old"]),
                 "rule": rng.choice(["term-added", "practice-added", "negation-removed"]), "topics": [topic]}
                for topic in topics] or [{"sentence": "", "side": "new", "topics": [], "rule": "wording"}]
    hunks = [{"op": "replace", "old": rng.choice(SENTENCES), "new": rng.choice(SENTENCES), "section": "Sharing",
              "topics": topics, "severity": 2} for _ in range(rng.randint(1, 4))]
    summary = {"headline": f"{klass} change", "bullets": [{"text": e["sentence"], "mark": "added"} for e in evidence],
               "more": 0, "version": 1}
    return [change_id, target_id, old, new, when, klass, rng.randint(1, 3) if topics else 0,
            json.dumps(topics), "expands" if topics else "none", json.dumps(evidence), json.dumps(hunks),
            rng.randint(10, 400), rng.randint(10, 400), "technical-upgrade" if technical else "rules",
            json.dumps(summary)]


def generate(path: Path, docs: int, versions: int, seed: int = 18) -> None:
    """Bulk-write ``docs`` targets with ``versions`` versions each, over the last ``MONTHS`` months."""
    rng = random.Random(seed)
    store = open_store(path)
    db = store.db.conn
    db.execute("PRAGMA synchronous = OFF")
    started = time.monotonic()
    first = _month_start(MONTHS - 1)
    span = (datetime.datetime.now(datetime.UTC) - first).total_seconds()
    version_id = change_id = 0
    db.execute("BEGIN")
    for target_id in range(1, docs + 1):
        company = " ".join(rng.sample(WORDS, 2)).title() + f" {target_id // 3}"
        url = f"https://{slugify(company)}.example/{target_id}"
        db.execute("INSERT INTO targets (id, company, doc_type, url, state, created_at) VALUES (?, ?, ?, ?, 'ok', ?)",
                   [target_id, company, rng.choice(["Privacy Policy", "Terms of Service"]), url, _stamp(first)])
        paragraphs = [" ".join(rng.choices(SENTENCES, k=6)) for _ in range(rng.randint(8, 14))]
        backfilled = rng.choice(["wayback", "ota"]) if rng.random() < 0.2 else None
        times = sorted(first + datetime.timedelta(seconds=rng.uniform(0, span)) for _ in range(versions))
        previous = None
        for number, moment in enumerate(times):
            paragraphs[rng.randrange(len(paragraphs))] = " ".join(rng.choices(SENTENCES, k=6))
            text = f"# {company}\n\n" + "\n\n".join(paragraphs) + "\n"
            when, version_id = _stamp(moment), version_id + 1
            source = backfilled if backfilled and number < versions // 2 else "live"
            technical = number > 0 and rng.random() < 0.02
            body = text.encode()
            db.execute("INSERT OR IGNORE INTO snapshots VALUES (?, 'text/html', ?, ?, ?)",
                       [sha256_hex(body), len(body), zlib.compress(body, 1), when])
            db.execute("INSERT INTO captures (id, target_id, fetched_at, url, status, outcome, version_id, source, "
                       "archived_at, body_sha256) VALUES (?, ?, ?, ?, 200, 'new-version', NULL, ?, ?, ?)",
                       [version_id, target_id, when, url, source,
                        when if source != "live" else None, sha256_hex(body)])
            db.execute("INSERT INTO versions (id, target_id, text, text_sha256, compare_sha256, snapshot_sha256, "
                       "capture_id, first_seen_at, last_seen_at, extractor_version, chain_hash, source, technical) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'bench', '', ?, ?)",
                       [version_id, target_id, text, sha256_hex(text), sha256_hex(text.lower()),
                        sha256_hex(body), version_id, when, when, source, int(technical)])
            # As recording does: the capture names its version once the version exists (foreign keys).
            db.execute("UPDATE captures SET version_id = ? WHERE id = ?", [version_id, version_id])
            if previous is not None:
                change_id += 1
                db.execute("INSERT INTO changes (id, target_id, from_version_id, to_version_id, detected_at, "
                           "class, severity, topics, direction, evidence, hunks, chars_added, chars_removed, "
                           "classifier, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           _change_row(rng, change_id, target_id, previous, version_id, when, technical))
            previous = version_id
        if target_id % 1000 == 0:
            db.execute("COMMIT")
            print(f"  {target_id:,} documents, {time.monotonic() - started:.0f} s", file=sys.stderr)
            db.execute("BEGIN")
    db.execute("COMMIT")
    db.execute("ANALYZE")
    store.close()
    print(f"generated {docs:,} documents × {versions} versions ({change_id:,} changes) in "
          f"{time.monotonic() - started:.0f} s ({path.stat().st_size / 1e9:.2f} GB)", file=sys.stderr)


def _get(base: str, path: str) -> tuple[float, int]:
    began = time.perf_counter()
    with urllib.request.urlopen(base + path, timeout=60) as response:
        size = len(response.read())
        assert response.status == 200, path
    return (time.perf_counter() - began) * 1000, size


def measure(base: str, paths: list[tuple[str, str]], repeat: int) -> dict[str, tuple[list[float], int]]:
    """Each path ``repeat`` times, interleaved (one round fetches every path once), after a warm-up."""
    found: dict[str, tuple[list[float], int]] = {path: ([], 0) for _, path in paths}
    for round_number in range(repeat + 1):
        for _, path in paths:
            elapsed, size = _get(base, path)
            if round_number:  # the first round warms the template cache and the page cache
                found[path] = (found[path][0] + [elapsed], size)
    return found


def in_process(db: Path, repeat: int) -> None:
    """The page built in this process (query and template, no HTTP): wall and CPU time. CPU time
    moves less with the machine's load than wall time does (other processes' time is not ours)."""
    from monitor.web import trends  # bench-only: the app's modules, after the store exists
    from monitor.web.render import Links, make_environment
    queries, links, env = Queries(db), Links("http://127.0.0.1:8000"), make_environment()
    template = env.get_template("trends.html")
    walls, cpus = [], []
    for attempt in range(repeat + 1):
        wall, cpu = time.perf_counter(), time.process_time()
        template.render(links=links, request_path="/trends/", **trends.context(queries, links, {}))
        if attempt:
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
    print(f"\nin process (query + template, no HTTP), `/trends/`: median {statistics.median(walls):.1f} ms wall, "
          f"{statistics.median(cpus):.1f} ms CPU")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/pw-trends.db"))
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    if not args.db.exists():
        generate(args.db, args.docs, args.versions)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "monitor.cli.main", "--db", str(args.db), "serve",
                               "--port", str(port)], cwd=ROOT, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    year = _month_start(12).year
    # The goal is the page as a reader opens it (12 months); the others are reported beside it.
    goal_paths = {"/trends/", f"/trends/?year={year}", "/trends.csv"}
    paths = [("baseline: home", "/"), ("trends, last 12 months", "/trends/"),
             (f"trends, {year}", f"/trends/?year={year}"),
             ("trends, 36 months", f"/trends/?from={_month_start(MONTHS - 1):%Y-%m}&to={_month_start(0):%Y-%m}"),
             ("trends, live changes only", "/trends/?include=none"), ("trends CSV", "/trends.csv"),
             ("a cell's changes", f"/?class=material&topic=ai-training&month={_month_start(1):%Y-%m}"
                                  "&include=backfilled")]
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                _get(base, "/static/style.css")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        found = measure(base, paths, args.repeat)
        home = statistics.median(found["/"][0])
        print("| page | median ms | worst ms | × home | bytes |\n|---|---:|---:|---:|---:|")
        missed = []
        for label, path in paths:
            times, size = found[path]
            median = statistics.median(times)
            over = path.startswith("/trends") and median >= GOAL_MS
            if over and path in goal_paths:
                missed.append(path)
            flag = (" ⚠ over the goal" if path in goal_paths else " (over 200 ms)") if over else ""
            print(f"| {label} `{path}` | {median:.1f} | {max(times):.1f} | {median / home:.1f}× | {size:,} |{flag}")
        in_process(args.db, args.repeat)
        print(f"\ngoal: /trends/ under {GOAL_MS} ms (median): {'not met: ' + ', '.join(missed) if missed else 'met'}")
    finally:
        server.terminate()
        server.wait(timeout=10)
    raise SystemExit(1 if missed else 0)


if __name__ == "__main__":
    main()
