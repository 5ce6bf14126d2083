"""Scale: claiming due targets in a 100,000-target store, and the crawl's memory over 100,000 pages.

    .venv/bin/python bench/bench_scale.py --claims-only                 # the claim timing (seconds)
    .venv/bin/python bench/bench_scale.py --mode run --pages small       # daemon, 100k small pages
    .venv/bin/python bench/bench_scale.py --mode crawl --targets 10000   # `policywatch crawl`, 10k pages

1. A store with ``--targets`` targets (bulk-inserted rows, as ``Store.add_target`` writes them)
   pointing at local pages (bench/pages.py, spread over 20 loopback host names). ``claim_due``
   with its default batch (500) is timed ``--claims`` times in a row, each claim taking the next
   500 due targets; median and worst in milliseconds.
2. Every target is then crawled once by a real ``policywatch`` child process, ``run`` (the
   daemon: ticks of ``--batch`` claimed targets) or ``crawl --all`` (one pass over everything),
   and its peak resident memory is read from ``wait4``'s rusage (``ru_maxrss``, the kernel's
   high-water mark for that process). ``--pages small`` serves ~1 KB policies so a run of
   100,000 pages takes minutes rather than the better part of an hour; ``full`` serves the
   ~16 KB pages of bench_crawl.
"""

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pages import ServerProcesses  # noqa: E402

from monitor.store import claim_due, open_store  # noqa: E402
from monitor.timeutil import now_iso  # noqa: E402


def build_store(db: Path, urls: list[str]) -> None:
    store = open_store(db)
    stamp = now_iso()
    rows = ({"company": f"Company {n}", "doc_type": "Privacy Policy", "url": link, "select_css": "[]",
             "remove_css": "[]", "every_seconds": 86400, "next_fetch_at": stamp, "state": "new",
             "consecutive_failures": 0, "created_at": stamp} for n, link in enumerate(urls))
    store.db["targets"].insert_all(rows, batch_size=5000)
    store.close()


def time_claims(db: Path, claims: int) -> list[float]:
    store = open_store(db)
    timings = []
    for _ in range(claims):
        started = time.perf_counter()
        claimed = claim_due(store)
        timings.append(1000 * (time.perf_counter() - started))
        assert claimed, "nothing left to claim"
    # Everything due again for the crawl.
    store.db.execute("UPDATE targets SET next_fetch_at = ?, claimed_at = NULL", [now_iso()])
    store.db.conn.commit()
    store.close()
    return timings


def crawl_peak_rss(db: Path, mode: str, batch: int, targets: int) -> dict:
    env = {**os.environ, "POLICYWATCH_DB": str(db)}
    if mode == "run":
        ticks = -(-targets // batch)
        command = ["run", "--no-notify", "--batch", str(batch), "--ticks", str(ticks), "--tick", "0.1"]
    else:
        command = ["crawl", "--all", "--no-notify"]
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "monitor.cli.main", *command], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    samples = []
    stderr_tail: list[str] = []
    reader = threading.Thread(target=lambda: stderr_tail.extend(child.stderr), daemon=True)
    reader.start()

    def sample():  # resident memory over time, for the record (the peak comes from wait4)
        while child.poll() is None:
            try:
                status = Path(f"/proc/{child.pid}/status").read_text()
                rss = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
                samples.append((time.perf_counter() - started, rss / 1024))
            except (OSError, StopIteration, ValueError):
                pass
            time.sleep(5)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    reader.join(5)
    with sqlite3.connect(db) as connection:
        outcomes = dict(connection.execute("SELECT outcome, count(*) FROM captures GROUP BY outcome").fetchall())
    return {"exit": child.returncode, "peak_rss_mb": usage.ru_maxrss / 1024, "wall_s": wall,
            "outcomes": outcomes, "rss_samples": samples, "stderr": "".join(stderr_tail[-5:])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", type=int, default=100_000)
    parser.add_argument("--claims", type=int, default=20)
    parser.add_argument("--claims-only", action="store_true")
    parser.add_argument("--mode", choices=("run", "crawl"), default="run")
    parser.add_argument("--batch", type=int, default=500, help="targets claimed per daemon tick")
    parser.add_argument("--pages", choices=("small", "full"), default="small")
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--server-processes", type=int, default=1)
    args = parser.parse_args()

    print(f"{args.targets} targets; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="pw-bench-scale-") as tmp, \
            ServerProcesses(args.targets, hosts=args.hosts, processes=args.server_processes,
                            small=args.pages == "small") as server:
        db = Path(tmp) / "scale.db"
        started = time.perf_counter()
        build_store(db, [server.url(n) for n in range(args.targets)])
        print(f"store built in {time.perf_counter() - started:.1f} s", flush=True)
        timings = time_claims(db, max(1, min(args.claims, args.targets // 500)))
        print(f"claim_due (batch 500) over {args.targets} targets, {len(timings)} claims: "
              f"median {statistics.median(timings):.1f} ms, worst {max(timings):.1f} ms", flush=True)
        if args.claims_only:
            return
        result = crawl_peak_rss(db, args.mode, args.batch, args.targets)
        captured = sum(result["outcomes"].values())
        print(f"policywatch {args.mode} over {args.targets} {args.pages} pages: exit {result['exit']}, "
              f"{captured} captures {result['outcomes']}, {result['wall_s']:.0f} s "
              f"({captured / result['wall_s']:.0f} pages/s), peak RSS {result['peak_rss_mb']:.0f} MB")
        every = max(1, len(result["rss_samples"]) // 12)
        print("RSS over time (s, MB): " + ", ".join(f"{t:.0f}:{mb:.0f}" for t, mb in result["rss_samples"][::every]))
        if result["exit"] != 0:
            print(result["stderr"])


if __name__ == "__main__":
    main()
