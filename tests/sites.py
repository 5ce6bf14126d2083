"""A real HTTP server on 127.0.0.1 serving fixture pages, for tests and the demo's tests.

Routes map a path to a ``Page`` (status, headers, body) or to a special behaviour: a
connection reset, a slow answer (a timeout), a redirect loop.
"""

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Page:
    """A canned response."""

    body: bytes = b""
    status: int = 200
    headers: dict = field(default_factory=lambda: {"Content-Type": "text/html; charset=utf-8"})
    behaviour: str = ""  # "" | reset | slow | redirect-loop
    delay: float = 0.0


class FixtureSite:
    """A threaded HTTP server; set pages with ``site[path] = Page(...)`` or ``site.html(path, text)``."""

    def __init__(self):
        self.pages: dict[str, Page] = {}
        self.requests: list[dict] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                site.requests.append({"path": self.path, "headers": dict(self.headers)})
                page = site.pages.get(self.path)
                if page is None:
                    self.send_error(404)
                    return
                if page.behaviour == "reset":
                    self.connection.shutdown(2)
                    self.connection.close()
                    return
                if page.behaviour == "redirect-loop":
                    self.send_response(302)
                    self.send_header("Location", self.path)
                    self.end_headers()
                    return
                if page.behaviour == "slow":
                    time.sleep(page.delay)
                etag = page.headers.get("ETag")
                if etag and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(page.status)
                for name, value in page.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(page.body)))
                self.end_headers()
                self.wfile.write(page.body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        """The absolute URL of a path on this site."""
        return self.base + path

    def __setitem__(self, path: str, page: Page) -> None:
        self.pages[path] = page

    def html(self, path: str, text: str, **headers) -> str:
        """Serve ``text`` as an HTML page at ``path``; return its URL."""
        self.pages[path] = Page(text.encode("utf-8"), headers={
            "Content-Type": "text/html; charset=utf-8", **headers})
        return self.url(path)

    def start(self) -> "FixtureSite":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
