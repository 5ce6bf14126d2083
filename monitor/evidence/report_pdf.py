"""The evidence report as PDF: the same HTML, printed by headless Chromium through Playwright.

Playwright is already installed (the crawler renders JavaScript pages with it) and cannot
download browsers here, so it drives Debian's Chromium, found the way ``crawler/render.py``
finds it (``monitor.evidence.chromium``). See docs/decisions/0009.
"""

from pathlib import Path

from monitor.errors import PolicywatchError
from monitor.evidence.chromium import CHROMIUM_ARGS, chromium_available, chromium_path

_TIMEOUT_MS = 60_000


class PdfUnavailable(PolicywatchError):
    """No PDF could be made; the message says why, as one line."""


def html_to_pdf(html: str, out: Path) -> str:
    """Print ``html`` to the PDF file ``out`` (A4); return the renderer's name and version.

    Raises ``PdfUnavailable`` when there is no browser or it fails; ``out`` is then not written.
    """
    executable = chromium_path()
    if not chromium_available(executable):
        raise PdfUnavailable(f"no browser to print it with: {executable} is not installed "
                             "(apt-get install chromium, or set POLICYWATCH_CHROMIUM)")
    try:
        # playwright costs 0.3 s to import and only the PDF report needs it
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        raise PdfUnavailable("Playwright is not installed (pip install playwright)") from error
    partial = out.with_name(out.name + ".partial")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS,
                                                 timeout=_TIMEOUT_MS)
            try:
                page = browser.new_page()
                # The report is self-contained; anything it might ask the network for is refused.
                page.route("**/*", lambda route: route.abort())
                page.set_content(html, wait_until="load", timeout=_TIMEOUT_MS)
                page.emulate_media(media="print")
                page.pdf(path=str(partial), format="A4", print_background=True, outline=True, tagged=True,
                         margin={"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"})
                renderer = f"Chromium {browser.version}"
            finally:
                browser.close()
    except PlaywrightError as error:
        partial.unlink(missing_ok=True)
        first_line = (str(error).strip().splitlines() or ["unknown error"])[0]
        raise PdfUnavailable(f"the browser could not print it: {first_line}") from error
    partial.replace(out)
    return renderer
