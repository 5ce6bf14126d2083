"""One crawl pass over due targets, with a progress bar, then the outbox.

This is what ``policywatch crawl`` runs; the demo and the daemon reuse ``summarise``.
"""

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from crawler.items import CaptureItem
from crawler.runner import run_crawl_script
from monitor.store import Store
from monitor.timeutil import now_iso


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


def crawl_due(store: Store, *, include_all: bool = False, company: str | None = None,
              timeout: float = 30.0, notify: bool = True, console: Console | None = None) -> dict:
    """Fetch due targets once, record every capture, send the outbox; return a report."""
    console = console or Console(stderr=True)
    target_ids = store.due_target_ids(now_iso(), include_all=include_all, company=company)
    if not target_ids:
        console.print("no targets are due (use --all to fetch every target now)")
        return {"captures": [], "failed": 0}
    captures: list[dict] = []
    with Progress(TextColumn("crawling"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console, transient=True,
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
        console.print(f"target {capture['target_id']} ({capture['url']}): {capture['error']}", style="red")
    if missing:
        console.print(f"{missing} target(s) produced no capture (see the log with -v)", style="red")
    outcomes = {}
    for capture in captures:
        outcomes[capture["outcome"]] = outcomes.get(capture["outcome"], 0) + 1
    console.print("crawled {} target(s): {}".format(
        len(captures), ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items()))))
    if notify:
        from notify.outbox import send_pending
        report = send_pending(store)
        if report.sent or report.failed or report.dead:
            console.print(f"alerts sent: {report.sent}, failed (will retry): {report.failed}, "
                          f"given up: {report.dead}")
    # After the outbox, so a token over the new ledger head covers this pass's deliveries too.
    from monitor.timestamps import timestamp_head_if_configured
    timestamp_head_if_configured(store, warn=lambda line: console.print(line, style="yellow"))
    return {"captures": captures, "failed": len(failed) + missing}
