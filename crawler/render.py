"""Rendering JavaScript pages: scrapy-playwright driving Debian's Chromium, only when needed.

A request goes through the browser when its target says ``render: js``, or as a fallback when
a plain fetch is blocked (HTTP 403/406) or extracts nothing. scrapy-playwright starts its driver
with every crawl it is installed in, so only passes that may need it get it
(``crawler.spiders.targets.spider_for``):
one with a ``render: js`` target, or one whose last plain fetch was blocked or empty. Within
such a pass, requests without ``meta["playwright"]`` still go through Scrapy's HTTP handler.

Browser downloads are impossible here, so Playwright is pointed at the system Chromium
(``apt-get install chromium``); without it, rendering is off and targets that need it fail with
a clear ``render-unavailable`` capture error.
"""

from scrapy_playwright.page import PageMethod

from monitor.evidence import CHROMIUM_ARGS, chromium_available, chromium_path

HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
# Statuses that mean "a browser might get through" (bot management answers plain clients so).
BLOCKED_STATUSES = (403, 406)
# How long to wait for the target's selector to appear after the page loaded.
SELECTOR_TIMEOUT_MS = 15_000


def available() -> bool:
    """True when the system Chromium is installed."""
    return chromium_available(chromium_path())


def settings() -> dict:
    """Scrapy settings that install the playwright handler (empty when Chromium is missing)."""
    if not available():
        return {}
    return {
        "DOWNLOAD_HANDLERS": {"http": HANDLER, "https": HANDLER},
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {"executable_path": chromium_path(), "headless": True,
                                      "args": CHROMIUM_ARGS},
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": 30_000,
    }


def handler_installed(crawler_settings) -> bool:
    """True when this crawl can render (its pass was given the playwright handler)."""
    return (crawler_settings.getdict("DOWNLOAD_HANDLERS") or {}).get("https") == HANDLER


def may_need_browser(target: dict) -> bool:
    """A target that renders, or whose last plain fetch was blocked or extracted nothing."""
    if target.get("render") == "js":
        return True
    last = target.get("last_error") or ""
    return target.get("guard") in ("no-match", "empty") or last.startswith(
        tuple(f"http-{status}" for status in BLOCKED_STATUSES))


def render_meta(target: dict) -> dict:
    """Request meta that renders a target's page and waits for its selectors."""
    css = [s for s in target.get("select") or [] if isinstance(s, str)]
    methods = [PageMethod("wait_for_load_state", "load")]
    if css:
        # Wait for the policy text, not for every tracker to finish (networkidle never comes).
        methods.append(PageMethod("wait_for_selector", ", ".join(css), state="attached",
                                  timeout=SELECTOR_TIMEOUT_MS))
    else:
        methods.append(PageMethod("wait_for_load_state", "networkidle"))
    return {"playwright": True, "playwright_page_methods": methods}
