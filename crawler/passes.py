"""One crawl pass over due targets, with a progress bar, then the outbox.

This is what ``policywatch crawl`` runs; the demo and the daemon reuse ``summarise``.
"""

from collections.abc import Callable, Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from crawler.items import CaptureItem
from crawler.runner import run_crawl_script
from monitor.errors import one_line
from monitor.evidence import timestamp_head_if_configured
from monitor.store import Store
from monitor.timeutil import now_iso
from notify.outbox import send_pending

# Targets are read from the store this many at a time, as the spider asks for them.
PASS_BATCH = 500


class StoredTargets:
    """Targets by id, read from the store a batch at a time as the spider iterates them: one
    Scrapy crawl for a whole run (no restart, no ramp-up per batch) with flat memory."""

    def __init__(self, store: Store, ids: list[int], batch: int = PASS_BATCH):
        self.store, self.ids, self.batch = store, ids, batch

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self):
        for start in range(0, len(self.ids), self.batch):
            chunk = self.ids[start:start + self.batch]
            by_id = {t["id"]: t for t in self.store.get_targets(chunk)}
            yield from (by_id[i] for i in chunk if i in by_id)


def summarise(item: CaptureItem) -> dict:
    """The JSON line for one capture."""
    capture, recorded = item.capture, item.recorded
    return {
        "target_id": capture.target_id, "url": capture.url, "status": capture.status,
        "outcome": recorded.outcome if recorded else "unrecorded",
        "capture_id": recorded.capture_id if recorded else None,
        "version_id": recorded.version_id if recorded else None,
        "change_id": recorded.change_id if recorded else None,
        "error": recorded.error if recorded else (item.dropped or capture.error),
    }


def due_ids(store: Store, at: str, include_all: bool, companies: Sequence[str]) -> list[int]:
    """The due targets of every company in ``companies`` (all companies when it is empty)."""
    if not companies:
        return store.due_target_ids(at, include_all=include_all)
    ids: dict[int, None] = {}  # ordered, and a company named twice is crawled once
    for company in companies:
        ids.update(dict.fromkeys(store.due_target_ids(at, include_all=include_all, company=company)))
    return list(ids)


def changed_targets(store: Store, captures: list[dict]) -> list[dict]:
    """The changes a pass recorded, each with its target's company and document type,
    most severe first (material before editorial before noise)."""
    changes = []
    for capture in captures:
        if not capture.get("change_id"):
            continue
        change = store.get_change(capture["change_id"])
        target = store.get_target(change["target_id"])
        changes.append({"change_id": change["id"], "target_id": target["id"], "company": target["company"],
                        "doc_type": target["doc_type"], "url": target["url"], "class": change["class"],
                        "severity": change["severity"], "direction": change["direction"],
                        "topics": change["topics"]})
    rank = {"material": 0, "editorial": 1, "noise": 2}
    changes.sort(key=lambda c: (rank.get(c["class"], 3), -c["severity"], c["company"].lower(), c["change_id"]))
    return changes


def crawl_due(store: Store, *, include_all: bool = False, companies: Sequence[str] = (),
              timeout: float = 30.0, notify: bool = True, console: Console | None = None,
              show_changes: Callable[[Console, list[dict]], None] | None = None) -> dict:
    """Fetch due targets once, record every capture, send the outbox; return a report:
    ``captures`` (one summary each), ``changes`` (see ``changed_targets``) and ``failed``.

    ``show_changes(console, changes)`` prints the changes after the pass (the CLI's
    ``monitor.cli.views.print_crawl_changes``: the crawler never imports the CLI)."""
    console = console or Console(stderr=True)
    target_ids = due_ids(store, now_iso(), include_all, companies)
    if not target_ids:
        console.print("no targets are due (use --all to fetch every target now)")
        return {"captures": [], "changes": [], "failed": 0}
    captures: list[dict] = []
    # The description is a crawled URL: shown as it is, never read as rich markup.
    with Progress(TextColumn("crawling"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}", markup=False), console=console, transient=True,
                  refresh_per_second=4) as progress:
        task = progress.add_task("", total=len(target_ids))

        def advance(item: CaptureItem) -> None:
            captures.append(summarise(item))
            progress.update(task, advance=1, description=item.capture.url[:60])

        async def one_pass(crawl_pass):
            await crawl_pass(StoredTargets(store, target_ids), keep_items=False)

        run_crawl_script(store.path, one_pass, overrides={"DOWNLOAD_TIMEOUT": timeout}, on_item=advance)
    missing = len(target_ids) - len(captures)
    failed = [c for c in captures if c["outcome"] in ("error", "unrecorded")]
    for capture in failed:
        # Text, not markup: URLs and error messages are not ours. One line: a browser's error
        # carries its whole launch log.
        console.print(Text(f"target {capture['target_id']} ({capture['url']}): {one_line(capture['error'] or '')}",
                           style="red"))
    if missing:
        console.print(f"{missing} target(s) produced no capture (see the log with -v)", style="red")
    outcomes = {}
    for capture in captures:
        outcomes[capture["outcome"]] = outcomes.get(capture["outcome"], 0) + 1
    console.print("crawled {} target(s): {}".format(
        len(captures), ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items()))))
    changes = changed_targets(store, captures)
    if show_changes is not None:
        show_changes(console, changes)
    if notify:
        report = send_pending(store)
        if report.sent or report.failed or report.dead:
            console.print(f"alerts sent: {report.sent}, failed (will retry): {report.failed}, "
                          f"given up: {report.dead}")
    # After the outbox, so a token over the new ledger head covers this pass's deliveries too.
    timestamp_head_if_configured(store, warn=lambda line: console.print(Text(line, style="yellow")))
    return {"captures": captures, "changes": changes, "failed": len(failed) + missing}
