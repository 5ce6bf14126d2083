"""Shared fixtures: a real HTTP fixture site on 127.0.0.1, real SQLite files, the real CLI.

``cli(*args)`` runs ``policywatch`` in-process through click's ``CliRunner`` (a subprocess
costs 2–6 s under load) except for the commands that start Scrapy's reactor (which cannot be
restarted in one process): those run as a real ``python -m monitor.cli.main`` subprocess. Either way
the environment, the working directory and what reaches stdout/stderr are the same.
"""

import contextlib
import json
import logging
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

import pytest

from tests.crawler.test_crawl_end_to_end import POLICY
from tests.receivers import WebhookReceiver
from tests.sites import FixtureSite

# Every test site runs on 127.0.0.1, which policywatch refuses to fetch unless told otherwise
# (crawler/address_guard.py); subprocesses inherit this. tests/crawler/test_address_guard.py unsets it.
os.environ["POLICYWATCH_ALLOW_PRIVATE_TARGETS"] = "1"

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CLI_TIMEOUT = 120

# Commands that start the Twisted reactor (one start per process) or are about the process:
# these always run as a subprocess.
SUBPROCESS_COMMANDS = frozenset({"crawl", "run", "demo", "worker", "serve"})
# Options of the top-level group that take a value (to find the command name after them).
_GROUP_OPTIONS_WITH_VALUE = frozenset({"--db", "--log-format"})


def wait_for(condition, timeout=60.0, every=0.05) -> bool:
    """Poll ``condition()`` until it is true (True) or ``timeout`` seconds pass (False).

    The only way tests wait: on a loaded machine any fixed sleep is either too short or waste.
    """
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(every)


@pytest.fixture(autouse=True)
def _settings_follow_the_environment():
    """After each test, the settings are those of the environment again (a test may have
    changed it with monkeypatch, torn down before this)."""
    from monitor import config
    yield
    config.reload()


@pytest.fixture
def site():
    """A running fixture HTTP server on 127.0.0.1."""
    server = FixtureSite().start()
    yield server
    server.stop()


@pytest.fixture
def receiver():
    """A running webhook receiver on 127.0.0.1 (apprise json:// and form:// alerts)."""
    server = WebhookReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def db_path(tmp_path) -> Path:
    """A path for a fresh SQLite database under tmp_path."""
    return tmp_path / "policywatch.db"


@pytest.fixture
def store(db_path):
    """The store at ``db_path``, opened with the notifier's listeners installed (as the CLI does)."""
    import notify
    from monitor.store import open_store
    notify.install()
    opened = open_store(db_path)
    yield opened
    opened.close()


class CliResult:
    """A finished ``policywatch`` command: exit code, stdout, stderr."""

    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    def json(self):
        return json.loads(self.stdout)

    def __repr__(self):
        return f"<exit {self.returncode}\nstdout: {self.stdout}\nstderr: {self.stderr}>"


def _command_name(args: list[str]) -> str | None:
    """The subcommand in ``policywatch [group options] COMMAND ...``."""
    skip_value = False
    for arg in args:
        if skip_value:
            skip_value = False
        elif arg in _GROUP_OPTIONS_WITH_VALUE:
            skip_value = True
        elif not arg.startswith("-"):
            return arg
    return None


def run_subprocess(args: list[str], env: dict, timeout: float) -> CliResult:
    completed = subprocess.run([sys.executable, "-m", "monitor.cli.main", *args], capture_output=True,
                               text=True, env={**os.environ, **env}, timeout=timeout, cwd=ROOT)
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


@contextlib.contextmanager
def _process_state():
    """Undo what a command does to this process: cwd, os.environ, settings, logging, event listeners."""
    from monitor import config, events
    cwd = os.getcwd()
    environ = dict(os.environ)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    listeners = {event: list(registered) for event, registered in events._listeners.items()}
    # The CLI configures logging with basicConfig, which does nothing if the root logger has
    # handlers (pytest's): without them, log lines reach the command's stderr as in a process.
    root.handlers = []
    os.chdir(ROOT)
    try:
        yield
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers, root.level = handlers, level
        events._listeners.clear()
        events._listeners.update(listeners)
        os.environ.clear()
        os.environ.update(environ)
        config.reload()  # the command's settings were read from the environment it was given
        os.chdir(cwd)


def run_in_process(args: list[str], env: dict) -> CliResult:
    from click.testing import CliRunner

    from monitor.cli import cli as policywatch
    with _process_state():
        # Click's help is as wide as in a process with COLUMNS=200 (its 80-column maximum, less 2).
        result = CliRunner().invoke(policywatch, args, env=env, prog_name="policywatch", terminal_width=78)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        # What the interpreter prints for an uncaught exception (exit status 1, as here).
        stderr += "".join(traceback.format_exception(*result.exc_info))
    return CliResult(result.exit_code, result.stdout, stderr)


def run_cli(*args, env: dict | None = None, timeout: float = CLI_TIMEOUT, check: int | None = None,
            subprocess: bool | None = None) -> CliResult:
    """Run ``policywatch ARGS``: in-process, or as a subprocess for reactor commands (or if asked).

    ``env`` is added to this process's environment; ``check`` asserts the exit code.
    ``timeout`` applies to subprocesses only.
    """
    args = [str(arg) for arg in args]
    environment = {"COLUMNS": "200", **(env or {})}
    if subprocess is None:
        subprocess = _command_name(args) in SUBPROCESS_COMMANDS
    result = run_subprocess(args, environment, timeout) if subprocess else run_in_process(args, environment)
    if check is not None:
        assert result.returncode == check, result
    return result


@pytest.fixture
def cli(db_path):
    """Run the real ``policywatch`` CLI against the test database (``POLICYWATCH_DB``)."""
    def run(*args, db=db_path, env=None, **options) -> CliResult:
        return run_cli(*args, env={"POLICYWATCH_DB": str(db), **(env or {})}, **options)
    return run


#: The crawled store's second text: the no-sale promise turned into a sale to data brokers.
EDITED_POLICY = POLICY.replace("We do not sell your personal data to anyone.",
                               "We may sell your personal data to data brokers.")


@pytest.fixture(scope="session")
def crawled_template(tmp_path_factory) -> Path:
    """Built once: a store (and its WARC files) with two versions, one material change, one sent alert.

    Tests get a copy (``crawled``), never this directory.
    """
    directory = tmp_path_factory.mktemp("crawled")
    env = {"POLICYWATCH_DB": str(directory / "policywatch.db")}
    site, receiver = FixtureSite().start(), WebhookReceiver().start()
    try:
        url = site.html("/privacy", POLICY)
        run_cli("target", "add", url, "--company", "Acme", env=env, check=0)
        run_cli("subscribe", receiver.url(), env=env, check=0)
        run_cli("crawl", env=env, check=0)
        site.html("/privacy", EDITED_POLICY)
        run_cli("crawl", "--all", env=env, check=0)
        assert len(receiver.accepted) == 1
    finally:
        site.stop()
        receiver.stop()
    # The in-process commands' store connections are closed by the garbage collector: collect
    # them now, so that the last close (which checkpoints and deletes the -wal file) cannot
    # happen in the middle of a test's copy of this directory.
    import gc  # only here: one collection when the template is built
    gc.collect()
    return directory


@pytest.fixture
def crawled(crawled_template, db_path) -> Path:
    """A private copy of ``crawled_template`` at ``db_path`` (its WARC files in ``warc/`` beside it)."""
    import shutil
    shutil.copytree(crawled_template, db_path.parent, dirs_exist_ok=True)
    return db_path


def free_port() -> int:
    """A local TCP port nothing listens on (yet)."""
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    """A real redis-server on a free local port (skipped without it or the redis extra)."""
    import shutil
    redis = pytest.importorskip("redis", reason="the redis extra is part of the test extra")
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (.ci/run installs it)")
    # free_port() is a probe: under pytest-xdist another worker may take the port before
    # redis-server binds it. Then this server exits and a ping reaches the other worker's: the
    # server that answers must be this one (its process id), or another port is tried.
    for _ in range(3):
        port = free_port()
        server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                   "--appendonly", "no", "--dir", str(tmp_path)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(url)

        def answers(client=client, server=server) -> bool:
            try:
                return server.poll() is not None or bool(client.ping())
            except redis.ConnectionError:
                return False
        assert wait_for(answers, timeout=30), "redis-server did not start"
        if server.poll() is None and client.info("server")["process_id"] == server.pid:
            break
        client.close()
        server.kill()
        server.wait(timeout=10)
    else:
        pytest.fail("redis-server could not bind a free port three times")
    try:
        yield url
    finally:
        client.close()
        server.kill()
        server.wait(timeout=10)
