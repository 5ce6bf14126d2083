"""Running the spider from Python: one pass, or a script of several passes in one process.

The Twisted reactor cannot be restarted, so everything that crawls in a process goes through
``run_crawl_script``: it starts Scrapy once and runs an async script that may crawl many times.
"""

from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from scrapy import signals
from scrapy.crawler import AsyncCrawlerProcess
from scrapy.settings import Settings
from scrapy.utils.defer import deferred_from_coro

from crawler.items import CaptureItem
from crawler.recorder import CaptureRecorder, share, unshare
from crawler.spiders.targets import spider_for
from monitor import __version__
from monitor.config import config

CrawlPass = Callable[[list[dict]], Awaitable[list[CaptureItem]]]


def warc_dir(db_path: str) -> str:
    """Where WARC files go: ``POLICYWATCH_WARC_DIR``, else ``warc/`` beside the database."""
    return config().warc_dir or str(Path(db_path).resolve().parent / "warc")


def crawler_settings(db_path: str, overrides: dict | None = None) -> Settings:
    """The project settings, pointed at a database, with per-run overrides."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("POLICYWATCH_DB", str(db_path), priority="cmdline")
    settings.set("POLICYWATCH_WARC_DIR", warc_dir(db_path), priority="cmdline")
    # Operators identify themselves to the sites they watch, and choose a robots.txt policy
    # (docs/decisions/0006-daemon-and-politeness.md).
    settings_from_env = config()
    contact = settings_from_env.contact
    if contact:
        settings.set("USER_AGENT", f"policywatch/{__version__} (+{contact}; privacy-policy change monitor)",
                     priority="cmdline")
    settings.set("ROBOTSTXT_OBEY", settings_from_env.robots == "obey", priority="cmdline")
    if settings_from_env.record_in:
        settings.set("POLICYWATCH_RECORD_IN", settings_from_env.record_in, priority="cmdline")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


def run_crawl_script(db_path: str, script: Callable[[CrawlPass], Awaitable], *,
                     overrides: dict | None = None,
                     on_item: Callable[[CaptureItem], None] | None = None,
                     install_signal_handlers: bool = True):
    """Start Scrapy, run ``await script(crawl_pass)``, stop; return what the script returned.

    ``crawl_pass(targets)`` fetches those targets once and returns their recorded items
    (``targets`` may be a lazy iterable such as ``StoredTargets``; ``keep_items=False`` returns
    none, for passes too long to hold every item);
    ``await crawl_pass.stop()`` ends a pass early (in-flight requests are dropped, what was
    recorded stays). ``on_item`` is called as each capture is recorded (progress bars).
    A script that handles SIGTERM/SIGINT itself passes ``install_signal_handlers=False``.
    """
    settings = crawler_settings(db_path, overrides)
    settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")  # the CLI owns logging
    # One recorder (a writer process) for every pass of the run, started before Scrapy so it
    # opens the store while the reactor starts.
    recorder = CaptureRecorder(settings.get("POLICYWATCH_DB"), settings.get("POLICYWATCH_WARC_DIR"),
                               settings.getint("POLICYWATCH_WARC_MAX_BYTES"),
                               settings.get("POLICYWATCH_RECORD_IN"))
    recorder_key = share(recorder)
    settings.set("POLICYWATCH_RECORDER_KEY", recorder_key, priority="cmdline")
    process = AsyncCrawlerProcess(settings)
    outcome: dict = {}

    async def crawl_pass(targets: Iterable[dict], *, keep_items: bool = True) -> list[CaptureItem]:
        if not targets:
            return []
        # A pass that may need a browser gets the playwright handler (crawler/render.py).
        crawler = process.create_crawler(spider_for(targets))
        items: list[CaptureItem] = []

        def collect(item, **_):
            if keep_items:  # a long pass reports through on_item instead: memory stays flat
                items.append(item)
            if on_item:
                on_item(item)
            # Recorded (or dropped) by now: the raw bodies are in the store and the WARC files.
            # Holding them for the whole pass cost ~20 KB a page (2 GB over 100,000 pages).
            item.capture.drop_bodies()
            item.prepared = None

        def dropped(item, exception, **_):
            item.dropped = str(exception)
            collect(item)

        crawler.signals.connect(collect, signal=signals.item_scraped)
        crawler.signals.connect(dropped, signal=signals.item_dropped)
        await process.crawl(crawler, targets=targets)
        return items

    async def stop() -> None:
        await process.stop()

    crawl_pass.stop = stop

    async def main():
        try:
            outcome["result"] = await script(crawl_pass)
        except BaseException as error:  # re-raised in the caller's frame below
            outcome["error"] = error
        finally:
            # installed by Scrapy by now; importing it earlier would install the default one
            from twisted.internet import reactor
            if reactor.running:
                reactor.stop()

    from twisted.internet import reactor  # only after Scrapy installed the reactor it wants
    reactor.callWhenRunning(lambda: deferred_from_coro(main()))
    try:
        process.start(stop_after_crawl=False, install_signal_handlers=install_signal_handlers)
    finally:
        unshare(recorder_key)
        recorder.close()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")
