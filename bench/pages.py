"""Policy-sized pages and a fast local server for the crawl benchmarks (bench_crawl, bench_scale).

Pages are built from the bundled sample policies (monitor/samples/*.html): each page gets its own
company name, a per-page paragraph, and the boilerplate a real policy page carries (navigation,
footer links, an inline script), about 16 KB each.

The server is a minimal HTTP/1.1 keep-alive server on asyncio, serving bodies from memory, run
in several processes that share each listening address with SO_REUSEPORT. It listens on
``127.0.0.1`` … ``127.0.0.H`` (the whole 127/8 is loopback on Linux): the crawler allows one
request at a time per domain (``CONCURRENT_REQUESTS_PER_DOMAIN = 1``), so pages are spread over
H host names to let it use its 16 concurrent requests. A threaded ``http.server`` tops out at a
few hundred requests per second and would measure itself, not the crawler.

Modes: ``static`` serves the same bytes every time; ``rotating`` puts a fresh token in every
response (a CSRF meta tag and hidden input, a CDN query string on the stylesheet, a build
comment): the raw bytes change on every fetch, the policy text never does. ``etag`` adds an
ETag and answers ``If-None-Match`` with 304.
"""

import asyncio
import itertools
import multiprocessing
import os
import re
import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "monitor" / "samples").glob("*.html"))
TOKEN = b"@@TOKEN@@"
PAGE_PATH = "/p{n}/privacy"

HEAD_EXTRA = ('<meta name="viewport" content="width=device-width, initial-scale=1">'
              '<meta name="csrf-token" content="@@TOKEN@@">'
              '<link rel="stylesheet" href="https://cdn.example.net/static/app.css?v=@@TOKEN@@">'
              '<link rel="icon" href="/favicon.ico">')
NAV = "".join(f'<li><a href="/{slug}">{label}</a></li>' for slug, label in [
    ("products", "Products"), ("solutions", "Solutions"), ("pricing", "Pricing"), ("support", "Support"),
    ("about", "About us"), ("careers", "Careers"), ("press", "Press"), ("blog", "Blog"),
    ("contact", "Contact"), ("login", "Sign in")])
FOOTER_LINKS = "".join(
    f'<li><a href="/{section}/{n}">{section.title()} {n}</a></li>'
    for section in ("legal", "help", "company", "community") for n in range(1, 9))
SCRIPT = ("<script>window.__CONFIG__={\"locale\":\"en-US\",\"build\":\"@@TOKEN@@\",\"features\":"
          "[\"consent\",\"analytics\",\"chat\"]};(function(){var s=document.createElement('script');"
          "s.async=true;s.src='https://cdn.example.net/static/app.js';document.head.appendChild(s);})();"
          "</script>")
CONSENT = ('<div id="cookie-banner" class="banner"><p>We use cookies to improve your experience.'
           ' <a href="/cookies">Cookie settings</a></p><button>Accept all</button></div>')


_SOURCES: dict = {}


def _source(n: int) -> str:
    path = SAMPLES[n % len(SAMPLES)]
    if path not in _SOURCES:
        _SOURCES[path] = path.read_text(encoding="utf-8")
    return _SOURCES[path]


def small_template(n: int) -> bytes:
    """A short policy page (~0.8 KB) for runs where the number of pages matters, not their size."""
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Company{n} - Privacy"
            f"</title><meta name='csrf-token' content='@@TOKEN@@'></head><body><main><h1>Company{n} "
            f"Privacy Policy</h1><p>Company{n} collects your name, email address and device identifiers "
            f"to provide the service and to keep it secure.</p><p>We share personal information with "
            f"service providers who process it on our behalf under contract; we do not sell it.</p>"
            f"<p>We keep account data for {12 + n % 24} months after you close your account, then "
            f"delete it.</p><p>You can access, correct or delete your data by writing to "
            f"privacy{n}@example.com; you may also complain to your data protection authority.</p>"
            f"<p>We will post any change to this policy on this page and, for material changes, notify "
            f"you by email before it takes effect.</p></main><!-- build @@TOKEN@@ --></body></html>"
            ).encode()


def page_template(n: int) -> bytes:
    """Page ``n`` with the ``@@TOKEN@@`` placeholders still in it (~16 KB)."""
    source = _source(n)
    company = re.search(r"<title>(\w+)", source).group(1)
    text = source.replace(company, f"{company}{n}")
    text = text.replace("</head>", HEAD_EXTRA + "</head>", 1)
    text = re.sub(r"<header>.*?</header>", f"<header><nav><ul>{NAV}</ul></nav></header>{CONSENT}",
                  text, count=1, flags=re.S)
    extra = (f"<p>This notice applies to account region {n % 97} and product line {n}. "
             f"Questions about it go to privacy{n}@example.com or to our data protection officer.</p>"
             f'<form action="/privacy/requests" method="post"><input type="hidden" name="csrf" '
             f'value="@@TOKEN@@"><button>Make a privacy request</button></form>')
    text = text.replace("</main>", extra + "</main>", 1)
    filler = ""
    if len(text) < 15_000:  # the shorter sample gets a longer footer, like real sites
        filler = "".join(f"<p class='fine-print'>Offer {k}: terms and conditions apply; see the "
                         f"store for details of availability in your region.</p>" for k in range(20))
    footer = (f"<footer><ul>{FOOTER_LINKS}</ul>{filler}<p>&copy; 2026 {company}{n} Inc.</p>"
              f"<!-- build @@TOKEN@@ -->{SCRIPT}</footer>")
    text = text.replace("</body>", footer + "</body>", 1)
    return text.encode("utf-8")


def host(n: int, hosts: int) -> str:
    return f"127.0.0.{1 + n % hosts}"


def url(n: int, port: int, hosts: int) -> str:
    return f"http://{host(n, hosts)}:{port}" + PAGE_PATH.format(n=n)


class _Handler(asyncio.Protocol):
    def __init__(self, server):
        self.server = server
        self.buffer = b""

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            self.transport.write(self.server.respond(head))


class PageServer:
    """Serves pages ``0 … count-1`` from memory (see module doc for ``mode``)."""

    def __init__(self, count: int, mode: str = "static", etag: bool = False, small: bool = False):
        self.mode, self.etag = mode, etag
        self.template = small_template if small else page_template
        # Keep built pages for a benchmark's few thousand pages; build them per request beyond.
        self.cache = count <= 5000
        self.templates = {}
        self.count = count
        self.counter = itertools.count()
        self.pid_tag = f"{os.getpid():x}".encode()

    def body(self, n: int) -> bytes:
        template = self.templates.get(n)
        if template is None:
            template = self.template(n)
            if self.cache:
                self.templates[n] = template
        if self.mode == "rotating":
            token = self.pid_tag + f"{next(self.counter):08x}".encode()
        else:
            token = b"static0000"
        return template.replace(TOKEN, token)

    def respond(self, head: bytes) -> bytes:
        request_line, _, header_block = head.partition(b"\r\n")
        parts = request_line.split(b" ")
        path = parts[1].decode("latin-1") if len(parts) > 1 else "/"
        match = re.fullmatch(r"/p(\d+)/privacy", path)
        if not match or int(match.group(1)) >= self.count:
            return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
        n = int(match.group(1))
        headers = [b"HTTP/1.1 200 OK", b"Content-Type: text/html; charset=utf-8", b"Server: bench"]
        if self.etag:
            tag = f'"page-{n}"'.encode()
            if b"if-none-match: " + tag in header_block.lower():
                return b"HTTP/1.1 304 Not Modified\r\nETag: " + tag + b"\r\nContent-Length: 0\r\n\r\n"
            headers.append(b"ETag: " + tag)
        body = self.body(n)
        headers.append(b"Content-Length: " + str(len(body)).encode())
        return b"\r\n".join(headers) + b"\r\n\r\n" + body


def _listen(address: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((address, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def _serve(port: int, hosts: int, count: int, mode: str, etag: bool, small: bool, ready) -> None:
    async def main():
        loop = asyncio.get_running_loop()
        server = PageServer(count, mode, etag, small)
        for k in range(hosts):
            await loop.create_server(lambda: _Handler(server), sock=_listen(f"127.0.0.{1 + k}", port))
        ready.set()
        await asyncio.Event().wait()
    asyncio.run(main())


class ServerProcesses:
    """``processes`` server processes sharing one port on 127.0.0.1 … 127.0.0.<hosts>."""

    def __init__(self, count: int, *, hosts: int = 20, processes: int = 2, mode: str = "static",
                 etag: bool = False, small: bool = False):
        self.count, self.hosts, self.processes, self.mode, self.etag = count, hosts, processes, mode, etag
        self.small = small
        self.children: list[multiprocessing.Process] = []
        self.port = None

    def start(self) -> "ServerProcesses":
        # A free port, closed before forking: a bound socket left in the SO_REUSEPORT group
        # (even one that does not listen) is handed connections that nobody accepts.
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        context = multiprocessing.get_context("fork")
        for _ in range(self.processes):
            ready = context.Event()
            child = context.Process(target=_serve, daemon=True,
                                    args=(self.port, self.hosts, self.count, self.mode, self.etag, self.small, ready))
            child.start()
            if not ready.wait(30):
                raise RuntimeError("page server did not start")
            self.children.append(child)
        return self

    def url(self, n: int) -> str:
        return url(n, self.port, self.hosts)

    def stop(self) -> None:
        for child in self.children:
            child.terminate()
        for child in self.children:
            child.join(5)
        self.children = []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
