"""Shared fixtures: a real HTTP fixture site on 127.0.0.1, real SQLite files, the real CLI."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.receivers import WebhookReceiver
from tests.sites import FixtureSite

# Every test site runs on 127.0.0.1, which policywatch refuses to fetch unless told otherwise
# (crawler/address_guard.py); subprocesses inherit this. tests/test_address_guard.py unsets it.
os.environ["POLICYWATCH_ALLOW_PRIVATE_TARGETS"] = "1"

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CLI_TIMEOUT = 120


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


class CliResult:
    """A finished ``policywatch`` process."""

    def __init__(self, completed: subprocess.CompletedProcess):
        self.returncode = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr

    def json(self):
        return json.loads(self.stdout)

    def __repr__(self):
        return f"<exit {self.returncode}\nstdout: {self.stdout}\nstderr: {self.stderr}>"


@pytest.fixture
def cli(db_path):
    """Run the real ``policywatch`` CLI in a subprocess against the test database."""
    def run(*args, db=db_path, env=None, timeout=CLI_TIMEOUT, check=None) -> CliResult:
        environment = {**os.environ, "POLICYWATCH_DB": str(db), "COLUMNS": "200", **(env or {})}
        completed = subprocess.run([sys.executable, "-m", "monitor.cli", *map(str, args)],
                                   capture_output=True, text=True, env=environment,
                                   timeout=timeout, cwd=ROOT)
        result = CliResult(completed)
        if check is not None:
            assert result.returncode == check, result
        return result
    return run
