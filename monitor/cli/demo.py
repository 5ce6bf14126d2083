"""``policywatch demo``: the whole monitor loop on the bundled samples, with no internet.

It serves the sample policies bundled in ``monitor/samples`` on 127.0.0.1, tracks them in a fresh
database, crawls with Scrapy, edits them the way companies do (a material edit to one, a
date-only edit to the other), crawls again, and shows what policywatch recorded and the
alert a local webhook received.
"""

import json
import os
import shutil
import threading
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

import click
from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from monitor.cli import common, views
from monitor.cli.options import PolicywatchCommand
from monitor.errors import InputError
from monitor.store import open_store

SAMPLES = ("micromart-privacy.html", "micromax-privacy-2012.html")
COMPANIES = {"micromart-privacy.html": "Micromart", "micromax-privacy-2012.html": "Micromax"}
# The edits real companies make: a removed no-sale commitment, and a date-only refresh.
MATERIAL_EDIT = (
    "We do not sell, trade, or otherwise transfer to outside parties your personally "
    "identifiable information.",
    "We may share your personally identifiable information with advertising partners and "
    "other outside parties, who may use it to show you targeted ads.",
)
DATE_EDIT = ("Last updated: November 22, 2012", "Last updated: November 24, 2026")


def samples_dir() -> Path:
    """The bundled sample policies: package data (``monitor/samples``), installed with the package."""
    here = Path(str(resources.files("monitor").joinpath("samples")))
    if (here / SAMPLES[0]).is_file():
        return here
    raise InputError(f"sample policies not found in {here} (a broken install: reinstall policywatch)")


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _WebhookSink(BaseHTTPRequestHandler):
    """Receives apprise json:// alerts and keeps them in ``server.received``."""

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.server.received.append(json.loads(self.rfile.read(length) or b"{}"))
        self.send_response(200)
        self.end_headers()


def _serve(server: ThreadingHTTPServer) -> ThreadingHTTPServer:
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    if old not in text:
        raise InputError(f"demo edit not applicable to {path.name}: {old[:40]!r} not found")
    path.write_text(text.replace(old, new), "utf-8")
    # The demo edits within the second it first crawled; a real edit comes later. Move the
    # file's time on so the server's Last-Modified (second resolution) shows the edit.
    stat = path.stat()
    os.utime(path, (stat.st_atime + 60, stat.st_mtime + 60))


def run_demo(workdir: Path, console: Console) -> dict:
    """Run the demo in ``workdir`` (recreated); return a summary (used by tests)."""
    # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
    import notify
    from crawler.runner import run_crawl_script
    from notify.outbox import send_pending
    from notify.subscriptions import add_subscription

    notify.install()
    if workdir.exists():
        shutil.rmtree(workdir)
    site_dir = workdir / "site"
    site_dir.mkdir(parents=True)
    for name in SAMPLES:
        shutil.copy(samples_dir() / name, site_dir / name)
    pages = _serve(ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietFiles, directory=str(site_dir))))
    sink = _serve(ThreadingHTTPServer(("127.0.0.1", 0), _WebhookSink))
    sink.received = []
    try:
        store = open_store(workdir / "demo.db")
        console.rule("1. Track the sample policies (served on 127.0.0.1)")
        for name in SAMPLES:
            url = f"http://127.0.0.1:{pages.server_address[1]}/{name}"
            store.add_target(url, COMPANIES[name])
        sink_url = f"json://127.0.0.1:{sink.server_address[1]}/alerts"
        subscription = add_subscription(store, sink_url, name="demo sink")
        console.print(f"subscription {subscription['id']}: material changes → {subscription['apprise_url']}")

        async def script(crawl_pass):
            console.rule("2. First crawl")
            first = await crawl_pass(store.due_targets("", include_all=True))
            for item in first:
                console.print(f"  {item.capture.url} → {item.recorded.outcome}")
            console.rule("3. The companies edit their policies")
            _edit(site_dir / "micromart-privacy.html", *MATERIAL_EDIT)
            console.print("  Micromart: \"We do not sell … to outside parties\" → "
                          "\"We may share … with advertising partners\"")
            _edit(site_dir / "micromax-privacy-2012.html", *DATE_EDIT)
            console.print(f"  Micromax: only its date line: {DATE_EDIT[0]!r} → {DATE_EDIT[1]!r}")
            console.rule("4. Second crawl")
            second = await crawl_pass(store.due_targets("", include_all=True))
            for item in second:
                console.print(f"  {item.capture.url} → {item.recorded.outcome}")
            return first, second

        # The demo's site runs on 127.0.0.1: allow private targets for this crawl only.
        first, second = run_crawl_script(store.path, script,
                                         overrides={"POLICYWATCH_ALLOW_PRIVATE_TARGETS": True})
        report = send_pending(store, base_url="http://127.0.0.1:8000")

        console.rule("5. Targets")
        console.print(views.targets_table(store.list_targets()))
        console.rule("6. Versions recorded")
        for target in store.list_targets():
            views.print_history(console, store, target["company"])
        changes = [c for t in store.list_targets() for c in store.changes(t["id"])]
        for change in changes:
            console.rule("7. The change, word by word, and its classification")
            views.print_change(console, store, change)
        console.rule("8. The alert the local webhook received")
        for message in sink.received:
            alert = Text(message.get("title", ""), style="bold")
            alert.append("\n\n" + message.get("message", ""), style="")
            console.print(Panel(alert, title=f"delivered to {subscription['apprise_url']}"))
        if not sink.received:
            console.print("no alert was delivered", style="red")
        console.print(f"alerts sent: {report.sent}; failed: {report.failed}")
        console.print(f"\nThe database is {store.path}. Next: policywatch --db {store.path} history Micromart; "
                      f"or browse it with policywatch --db {store.path} serve (http://127.0.0.1:8000)")
        summary = {
            "first": [i.recorded.outcome for i in first], "second": [i.recorded.outcome for i in second],
            "changes": [{k: c[k] for k in ("id", "class", "severity", "topics", "direction")} for c in changes],
            "alerts": sink.received, "db": str(store.path),
        }
        store.close()
        return summary
    finally:
        pages.shutdown()
        sink.shutdown()


@click.command("demo", cls=PolicywatchCommand)
@click.option("--workdir", default="data/demo", show_default=True, help="Where the demo keeps its files.")
def demo_command(workdir):
    """Serve the bundled sample policies locally, crawl, edit, crawl again, show the alert."""
    run_demo(Path(workdir), common.out)
