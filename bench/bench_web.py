"""Benchmark the web on a big store: 10,000 documents × 20 versions (190,000 changes).

    .venv/bin/python bench/bench_web.py --db /tmp/pw-bench.db            # generate (once) and measure
    .venv/bin/python bench/bench_web.py --db /tmp/pw-bench.db --docs 1000 # a smaller store

The store is generated with bulk inserts into the real schema (``open_store`` creates it; the
FTS5 triggers index every version as it is inserted): recording 200,000 captures through the
classifier would measure the classifier, not the web. Texts are built from a pool of policy
sentences, each version editing one or two; one document in 500 is long (~40 KB) so that change
pages are measured with realistic diff sizes too. Every page is then fetched over HTTP from the
real ``policywatch serve`` (uvicorn, one worker); the figures are the server's wall time per
request as seen by the client on 127.0.0.1 (median and worst of ``--repeat`` after a warm-up).
"""

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
import urllib.request
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.store import open_store, sha256_hex, slugify  # noqa: E402

TOPICS = ["collection", "sharing", "sale", "sensitive-data", "ai-training", "advertising", "choice",
          "rights", "retention", "security", "policy-change", "do-not-track", "audiences",
          "transfers", "controller", "legal-basis", "contact"]
WORDS = ("acme globex initech umbrella stark wayne wonka tyrell cyberdyne soylent hooli vandelay "
         "pied piper dunder mifflin oscorp aperture black mesa monarch nakatomi").split()
SUBJECTS = ["We", "Our partners", "Our service providers", "Advertisers", "Affiliates"]
VERBS = ["collect", "share", "sell", "retain", "process", "transfer", "analyse", "disclose"]
OBJECTS = ["your email address", "your precise location", "your browsing history", "device identifiers",
           "payment details", "health information", "voice recordings", "contact lists"]
PURPOSES = ["to provide the service", "for advertising", "to train our models", "for security",
            "to comply with the law", "for analytics", "to personalise content", "for research"]
DOC_TYPES = ["Privacy Policy", "Terms of Service", "Cookie Policy"]


def sentence(rng: random.Random) -> str:
    modal = rng.choice(["", "may ", "do not ", "will not ", "never "])
    return (f"{rng.choice(SUBJECTS)} {modal}{rng.choice(VERBS)} {rng.choice(OBJECTS)} "
            f"{rng.choice(PURPOSES)} for up to {rng.randint(1, 36)} months.")


def first_text(rng: random.Random, paragraphs: int) -> list[str]:
    return [" ".join(sentence(rng) for _ in range(rng.randint(2, 5))) for _ in range(paragraphs)]


def generate(path: Path, docs: int, versions: int, seed: int = 5) -> None:
    """Bulk-write ``docs`` targets with ``versions`` versions each into a new store."""
    rng = random.Random(seed)
    store = open_store(path)
    db = store.db.conn
    db.execute("PRAGMA synchronous = OFF")
    started = time.monotonic()
    companies = [" ".join(rng.sample(WORDS, 2)).title() + f" {n}" for n in range(docs * 2 // 5)]
    version_id = capture_id = change_id = 0
    db.execute("BEGIN")
    for target_id in range(1, docs + 1):
        company = companies[(target_id - 1) % len(companies)]
        doc_type = DOC_TYPES[(target_id - 1) // len(companies) % len(DOC_TYPES)]
        url = f"https://{slugify(company)}.example/{slugify(doc_type)}"
        db.execute("INSERT INTO targets (id, company, doc_type, url, select_css, remove_css, every_seconds, "
                   "next_fetch_at, state, consecutive_failures, created_at, last_success_at) "
                   "VALUES (?, ?, ?, ?, '[]', '[]', 86400, '2026-06-01T00:00:00Z', ?, 0, "
                   "'2025-01-01T00:00:00Z', '2026-05-30T00:00:00Z')",
                   [target_id, company, doc_type, url, rng.choice(["ok"] * 8 + ["failing", "broken"])])
        paragraphs = first_text(rng, 120 if target_id % 500 == 0 else rng.randint(8, 14))
        previous = None
        for number in range(versions):
            if number:
                for _ in range(rng.randint(1, 2)):
                    paragraphs[rng.randrange(len(paragraphs))] = " ".join(
                        sentence(rng) for _ in range(rng.randint(2, 5)))
            text = f"# {company} {doc_type}\n\n" + "\n\n".join(paragraphs) + "\n"
            body = f"<html><body><main>{text}</main></body></html>".encode()
            digest = sha256_hex(body)
            when = f"2025-{1 + number * 11 // versions:02d}-{1 + target_id % 28:02d}T{number % 24:02d}:00:00.000000Z"
            db.execute("INSERT OR IGNORE INTO snapshots VALUES (?, 'text/html', ?, ?, ?)",
                       [digest, len(body), zlib.compress(body, 1), when])
            capture_id += 1
            version_id += 1
            db.execute("INSERT INTO captures (id, target_id, started_at, fetched_at, url, final_url, status, "
                       "headers, content_type, body_sha256, body_size, elapsed_ms, outcome, version_id) "
                       "VALUES (?, ?, ?, ?, ?, ?, 200, '{}', 'text/html', ?, ?, 100, ?, ?)",
                       [capture_id, target_id, when, when, url, url, digest, len(body),
                        "new-version" if number else "first-version", None])
            db.execute("INSERT INTO versions (id, target_id, text, text_sha256, compare_sha256, "
                       "snapshot_sha256, capture_id, first_seen_at, last_seen_at, extractor_version, "
                       "chain_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'bench', '')",
                       [version_id, target_id, text, sha256_hex(text), sha256_hex(text.lower()),
                        digest, capture_id, when, when])
            # As recording does: the capture names its version once the version exists (foreign keys).
            db.execute("UPDATE captures SET version_id = ? WHERE id = ?", [version_id, capture_id])
            if previous is not None:
                change_id += 1
                klass = rng.choice(["material"] * 2 + ["editorial"] * 4 + ["noise"] * 4)
                topics = rng.sample(TOPICS, rng.randint(1, 3)) if klass == "material" else []
                evidence = [{"sentence": paragraphs[0].split(".")[0] + ".", "side": "new",
                             "rule": "term-added", "topics": topics}] if topics else []
                db.execute("INSERT INTO changes (id, target_id, from_version_id, to_version_id, detected_at, "
                           "class, severity, topics, direction, evidence, hunks, chars_added, chars_removed, "
                           "classifier) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', ?, ?, 'bench')",
                           [change_id, target_id, previous, version_id, when, klass,
                            rng.randint(1, 3) if klass == "material" else 0, json.dumps(topics),
                            "expands" if topics else "none", json.dumps(evidence),
                            rng.randint(10, 400), rng.randint(10, 400)])
            previous = version_id
        if target_id % 1000 == 0:
            db.execute("COMMIT")
            print(f"  {target_id:,} documents, {time.monotonic() - started:.0f} s", file=sys.stderr)
            db.execute("BEGIN")
    db.execute("COMMIT")
    db.execute("ANALYZE")
    store.close()
    print(f"generated {docs:,} documents × {versions} versions in {time.monotonic() - started:.0f} s "
          f"({path.stat().st_size / 1e9:.2f} GB)", file=sys.stderr)


def measure(base: str, path: str, repeat: int) -> tuple[float, float, int]:
    times = []
    size = 0
    for attempt in range(repeat + 1):
        began = time.perf_counter()
        with urllib.request.urlopen(base + path, timeout=60) as response:
            size = len(response.read())
        if attempt:  # the first request warms the template cache and the page cache
            times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), max(times), size


def pages(db_path: Path, docs: int) -> list[tuple[str, str]]:
    import sqlite3
    conn = sqlite3.connect(db_path)
    last_change = conn.execute("SELECT max(id) FROM changes").fetchone()[0]
    company = conn.execute("SELECT company FROM targets WHERE id = ?", [docs // 2]).fetchone()[0]
    long_target = 500 if docs >= 500 else 1
    short_change = conn.execute("SELECT max(id) FROM changes WHERE target_id = ?", [docs // 2 + 1]).fetchone()[0]
    long_change = conn.execute("SELECT max(id) FROM changes WHERE target_id = ?", [long_target]).fetchone()[0]
    versions = [row[0] for row in conn.execute("SELECT id FROM versions WHERE target_id = ? ORDER BY id",
                                               [docs // 2])]
    capture = conn.execute("SELECT capture_id FROM versions WHERE id = ?", [versions[-1]]).fetchone()[0]
    conn.close()
    slug = slugify(company)
    return [
        ("home", "/"),
        ("home, material only", "/?class=material"),
        ("home, rare filter (do-not-track, severity 3)", "/?topic=do-not-track&severity=3"),
        ("home, one company", f"/?company={slug}"),
        ("home, deep page (keyset)", f"/?before={last_change // 50}"),
        ("companies A–Z, letter", "/companies/?letter=M"),
        ("companies, page 20", "/companies/?page=20"),
        ("company", f"/company/{slug}/"),
        ("document timeline", f"/document/{docs // 2}/"),
        ("change (short document)", f"/change/{short_change}/"),
        ("change (40 KB document)", f"/change/{long_change}/"),
        ("version", f"/version/{versions[-1]}/"),
        ("compare first and last version", f"/compare/?a={versions[0]}&b={versions[-1]}"),
        ("raw capture", f"/capture/{capture}/raw"),
        ("search, common word", "/search/?q=location"),
        ("search, two words", "/search/?q=health+advertising"),
        ("search, phrase, current only", "/search/?q=%22voice+recordings%22&scope=current"),
        ("search, rare word, page 3", "/search/?q=nakatomi&page=3"),
        ("feed: all", "/feeds/all.atom"),
        ("feed: material", "/feeds/material.atom"),
        ("feed: topic", "/feeds/topic/ai-training.atom"),
        ("feed: company", f"/feeds/company/{slug}.atom"),
        ("feed: document", f"/feeds/document/{docs // 2}.atom"),
        ("API: changes", "/api/changes?class=material&limit=100"),
        ("API: change", f"/api/changes/{last_change // 3}"),
        ("API: document", f"/api/documents/{docs // 3}"),
        ("API: search", "/api/search?q=payment"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/policywatch-bench.db"))
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    args = parser.parse_args()
    if not args.port:
        import socket
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            args.port = sock.getsockname()[1]
    if not args.db.exists():
        generate(args.db, args.docs, args.versions)
    server = subprocess.Popen([sys.executable, "-m", "monitor.cli.main", "--db", str(args.db), "serve",
                               "--port", str(args.port)], cwd=ROOT)
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/static/style.css", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        print("| page | median ms | worst ms | bytes |\n|---|---:|---:|---:|")
        for label, path in pages(args.db, args.docs):
            median, worst, size = measure(base, path, args.repeat)
            flag = "" if worst < 100 else " ⚠"
            print(f"| {label} `{path}` | {median:.1f} | {worst:.1f}{flag} | {size:,} |", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
