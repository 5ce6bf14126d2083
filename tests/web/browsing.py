"""What the browser tests share: Debian's Chromium, how it is launched, the marks a browser test
carries, and ``Watched`` (a page whose CSP violations, page errors and dialogs are recorded).

The ``browser`` fixture (one Chromium per test module) is in ``tests/web/conftest.py``."""

import shutil

import pytest

from tests.web.test_web_data import SCREENSHOTS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# A browser test needs Debian's Chromium (`make test` installs it; with CI=true a missing one
# fails the run before any test: Makefile, system-deps) and is slow.
NEEDS_CHROMIUM = pytest.mark.skipif(not shutil.which("chromium"),
                                    reason="needs Debian's chromium (.ci/run installs it)")
BROWSER_MARKS = [NEEDS_CHROMIUM, pytest.mark.slow]


class Watched:
    """A page whose CSP violations, page errors and dialogs are recorded."""

    def __init__(self, browser, **options):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
        self.page = self.context.new_page()
        self.csp_violations: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", self._dialog)

    def _console(self, message):
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.csp_violations.append(message.text)

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def shot(self, name: str) -> None:
        """A full-page screenshot under test-output/screenshots/ (for review)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        """Close the page's browser context."""
        self.context.close()
