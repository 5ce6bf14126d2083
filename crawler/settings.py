"""Scrapy settings for policywatch's crawler (``scrapy.cfg`` points here).

Policy pages are few per host and fetched rarely: crawl politely, one request per domain at a
time, and let the monitor decide what a response means.
"""

BOT_NAME = "policywatch"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = "policywatch/0.1 (+https://github.com/policywatch/policywatch; privacy-policy change monitor)"
ROBOTSTXT_OBEY = False  # a published privacy policy is meant to be read; see docs/decisions
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 1
# Each response yields one capture. Scrapy starts CONCURRENT_ITEMS asyncio tasks to drain every
# async callback's output (default 100): with one item that is 99 idle tasks per page.
CONCURRENT_ITEMS = 1
# Responses whose captures wait for the recorder hold memory; Scrapy stops downloading past this
# many bytes of them (counted at least 1 KB each). The default (5 MB) let ~5,000 small pages
# queue ahead of a slower writer (~100 MB); 1 MB is still over 60 full pages, more than a batch.
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 1_000_000
DOWNLOAD_TIMEOUT = 30
# Bound what a hostile server can make us read (Scrapy aborts bigger bodies: a capture error).
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
REDIRECT_MAX_TIMES = 10
RETRY_TIMES = 1
# 429 and 503 are not retried at once: the capture records them and the target waits at least
# as long as the server's Retry-After says (monitor.record.recording.retry_after_seconds).
RETRY_HTTP_CODES = [500, 502, 504, 522, 524, 408]
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.25
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
EXTENSIONS = {
    # Scrapy's remote-control extension opens a listening port; a monitor needs none.
    "scrapy.extensions.remote_control.RemoteControl": None,
    # AutoThrottle, except that a 304 (our conditional GET answered) may shorten the delay.
    "scrapy.extensions.throttle.AutoThrottle": None,
    "crawler.throttle.ConditionalAwareAutoThrottle": 0,
}
DOWNLOADER_MIDDLEWARES = {
    # Before anything else touches the request (redirects come back through here): never fetch
    # link-local/metadata addresses, private ones only when allowed (crawler/address_guard.py).
    "crawler.address_guard.AddressGuardMiddleware": 50,
}
HTTPCACHE_ENABLED = False
LOG_LEVEL = "WARNING"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"

ITEM_PIPELINES = {
    # 100: reject malformed or oversized captures before anything is written.
    "crawler.pipelines.BoundCapturePipeline": 100,
    # 300: archive request and response to WARC, then the monitor records the capture
    # (snapshot, version, change, outbox) in one transaction: in batches, off the reactor.
    "crawler.pipelines.ArchiveAndRecordPipeline": 300,
    # 900: count outcomes in namespaced stats and log one line per capture, after recording.
    "crawler.pipelines.CaptureStatsPipeline": 900,
}

# policywatch's own settings.
POLICYWATCH_DB = None  # set by the runner; the pipelines raise NotConfigured without it
POLICYWATCH_MAX_BODY_BYTES = DOWNLOAD_MAXSIZE
POLICYWATCH_WARC_DIR = None  # set by the runner (default: a "warc" folder beside the database)
POLICYWATCH_WARC_MAX_BYTES = 100 * 1024 * 1024  # rotate WARC files past this size
# Where captures are archived and recorded (crawler/recorder.py): "process" (a writer process:
# a core of its own) or "thread". Environment: POLICYWATCH_RECORD_IN.
POLICYWATCH_RECORD_IN = "process"
POLICYWATCH_RECORDER_KEY = None  # set by the runner: the recorder its passes share
# JS rendering (crawler/render.py): passes that need a browser install scrapy-playwright's handler.
POLICYWATCH_RENDER_FALLBACK = True  # re-fetch through the browser when blocked (403/406) or empty
POLICYWATCH_CONFIRM_CHANGES = True  # fetch a changed page a second time before recording it
