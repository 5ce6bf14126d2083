"""Where Debian's Chromium is and how we launch it headless: shared by the crawler's JS
rendering (crawler/render.py) and the evidence report's PDF (monitor/evidence/report_pdf.py).

Playwright cannot download browsers here, so both drive the system Chromium.
"""

import os

from monitor.config import config

# No sandbox (root in containers), no background network services of the browser's own.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def chromium_path() -> str:
    """The Chromium executable: ``POLICYWATCH_CHROMIUM``, else Debian's ``/usr/bin/chromium``."""
    return config().chromium


def chromium_available(path: str | None = None) -> bool:
    """True when the Chromium at ``path`` (default: ``chromium_path()``) is installed and executable."""
    path = chromium_path() if path is None else path
    return os.path.isfile(path) and os.access(path, os.X_OK)
