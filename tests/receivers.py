"""Real receivers for notifier tests (an HTTP webhook receiver, an SMTP server) and helpers.

Imported by the test_notify*/test_outbox*/test_subscriptions* modules; it holds no tests.
"""

import json
import logging
import socket
import threading
import time
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from monitor.record import Capture, record_capture
from monitor.timeutil import now_iso

BASE_POLICY = ("<p>We collect your email address to run the service.</p>"
               "<p>We do not sell your personal information.</p>"
               "<p>Contact us at privacy@acme.example.</p>")
MATERIAL_POLICY = ("<p>We collect your email address and your precise location to run the service.</p>"
                   "<p>We may sell your personal information to advertising partners.</p>"
                   "<p>Contact us at privacy@acme.example.</p>")


def page(body: str) -> bytes:
    return f"<html><body><main><h1>Privacy</h1>{body}</main></body></html>".encode()


def capture(store, target, body: str | None = None, *, error: str | None = None):
    """Record one capture of ``target`` (an HTML body, or a failed fetch with ``error``)."""
    if error:
        return record_capture(store, Capture(target["id"], target["url"], now_iso(), error_kind="http",
                                             error=error, status=503))
    return record_capture(store, Capture(target["id"], target["url"], now_iso(), status=200,
                                         body=page(body), content_type="text/html"))


def material_change(store, company: str = "Acme", url: str | None = None, extra: str = "",
                    doc_type: str = "Privacy Policy") -> int:
    """Add a target and record a material change for it; return the change id."""
    target = store.add_target(url or f"https://{company.lower().replace(' ', '-')}.example/privacy",
                              company, doc_type)
    capture(store, target, BASE_POLICY)
    recorded = capture(store, target, MATERIAL_POLICY + extra)
    assert recorded.change_id, recorded
    return recorded.change_id


class WebhookReceiver:
    """A real HTTP server on 127.0.0.1 taking apprise json:// and form:// posts.

    ``script`` is consumed one entry per request: ``500`` (or any other status: ``404``,
    ``429``…), ``timeout`` (answer after ``slow_seconds``), ``hang`` (hold the request until
    ``release()``), ``trickle`` (send the response one byte per second: no socket timeout ever
    fires); then ``default`` (``ok``). Receipts are de-duplicated by the ``Idempotency-Key``
    header, as a well-behaved receiver would.
    """

    def __init__(self, script=(), slow_seconds: float = 2.0, default: str = "ok"):
        self.script = list(script)
        self.default = default
        self.trickling = threading.Event()  # set while a trickled answer is being sent
        self.slow_seconds = slow_seconds
        self.delay = 0.0  # before every answer: a slow but working receiver
        self.requests: list[dict] = []  # every request, in arrival order
        self.accepted: dict[str, dict] = {}  # idempotency key → first successful receipt
        self.duplicates: list[str] = []  # keys received again after a success
        self.lock = threading.Lock()
        self.hung = threading.Event()
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                kind = self.headers.get("Content-Type", "")
                body = json.loads(raw) if "json" in kind else {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                key = self.headers.get("Idempotency-Key")
                with receiver.lock:
                    behaviour = receiver.script.pop(0) if receiver.script else receiver.default
                    receiver.requests.append({"path": self.path, "key": key, "body": body,
                                              "headers": dict(self.headers), "behaviour": behaviour})
                if behaviour.isdigit():
                    self.send_response(int(behaviour))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if behaviour == "trickle":
                    self.trickle()
                    return
                if behaviour == "timeout":
                    time.sleep(receiver.slow_seconds)
                if receiver.delay:
                    time.sleep(receiver.delay)
                if behaviour == "hang":
                    receiver.hung.set()
                    receiver.released.wait(30)
                with receiver.lock:
                    if key in receiver.accepted:
                        receiver.duplicates.append(key)
                    else:
                        receiver.accepted[key] = body
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def trickle(self):
                answer = b"HTTP/1.1 200 OK\r\nX-Padding: " + b"." * 200 + b"\r\nContent-Length: 0\r\n\r\n"
                receiver.trickling.set()
                try:
                    for byte in answer:
                        if receiver.released.wait(1.0):
                            return  # stopped: drop the connection
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                except OSError:
                    pass
                finally:
                    receiver.trickling.clear()
                    self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, scheme: str = "json", path: str = "/hook/s3cr3t-t0ken-value", query: str = "") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}{'?' + query if query else ''}"

    def release(self) -> None:
        self.released.set()

    def start(self) -> "WebhookReceiver":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


class RefusingProxy:
    """An HTTP proxy on 127.0.0.1 that refuses every request (403) and records what was asked:
    point HTTPS_PROXY at it and a plugin for a public service (tgram://) makes no call beyond
    127.0.0.1."""

    def __init__(self):
        self.asked: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def refuse(self):
                proxy.asked.append(f"{self.command} {self.path}")
                self.send_response(403)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_CONNECT = do_GET = do_POST = refuse

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> "RefusingProxy":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (aiosmtpd's controller cannot bind port 0 itself)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# aiosmtpd logs a deprecation notice of its own on every AUTH; not ours to fix.
logging.getLogger("mail.log").setLevel(logging.ERROR)


class SMTPReceiver:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message; AUTH with one login."""

    def __init__(self, user: str = "alerts", password: str = "sm7p-pa55word"):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.messages: list = []
        self.user, self.password = user, password
        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                receiver.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and (auth_data.login.decode(), auth_data.password.decode()) \
                == (receiver.user, receiver.password)
            return AuthResult(success=ok)

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=free_port(), authenticator=authenticator,
                                     auth_require_tls=False, auth_exclude_mechanism=["CRAM-MD5"])

    @property
    def port(self) -> int:
        return self.controller.port

    def url(self, password: str | None = None) -> str:
        password = self.password if password is None else password
        return (f"mailto://{self.user}:{password}@localhost:{self.port}"
                f"?smtp=127.0.0.1&from=policywatch@example.com&to=watchdog@example.org&mode=insecure")

    def start(self) -> "SMTPReceiver":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
