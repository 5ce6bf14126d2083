"""Where Debian's Chromium is and how we launch it headless: shared by the crawler's JS
rendering (crawler/render.py) and the evidence report's PDF (monitor/evidence/report_pdf.py).

Playwright cannot download browsers here, so both drive the system Chromium.
"""

import os

CHROMIUM = os.environ.get("POLICYWATCH_CHROMIUM", "/usr/bin/chromium")
# No sandbox (root in containers), no background network services of the browser's own.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def chromium_available(path: str = CHROMIUM) -> bool:
    """True when the Chromium at ``path`` is installed and executable."""
    return os.path.isfile(path) and os.access(path, os.X_OK)
