"""A plain, non-editable ``pip install .`` (no extras) runs the main job from any directory.

This is what a new user gets from ``pip install policywatch``: no test or redis extras, no
source checkout to find files in. The demo must find its samples, rules and templates as package
data, ``crawl`` must run (Scrapy's spider loader must not reach the Redis worker), and the
commands that do need the redis extra must say so in one line.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sites import FixtureSite

ROOT = Path(__file__).resolve().parents[2]
POLICY = (ROOT / "monitor" / "samples" / "micromart-privacy.html").read_bytes()
INSTALL_TIMEOUT = 900

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def plain_venv(tmp_path_factory) -> Path:
    """A fresh venv holding ``pip install <checkout>`` and nothing else (built once per module)."""
    base = tmp_path_factory.mktemp("plain")
    source = base / "src"
    # Install from a copy without build leftovers or the developer's venv: what a user's sdist holds.
    # Nor the caches and outputs other tests write meanwhile (under pytest-xdist a file deleted
    # mid-copy would fail the copy).
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "*.egg-info", "build", "__pycache__", ".pytest_cache", "data", "test-output",
        ".hypothesis", ".ruff_cache", ".import_linter_cache"))
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # --no-compile: byte-compiling every installed module (Twisted, Scrapy, lxml…) was most of the
    # install's time; Python compiles what the commands import when they import it.
    completed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                                "--disable-pip-version-check", "--no-compile", str(source)],
                               capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    assert completed.returncode == 0, completed.stderr[-3000:]
    shutil.rmtree(source)  # nothing may be read from the source tree after the install
    return venv


def _run(venv: Path, *args, cwd: Path, timeout: int = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("POLICYWATCH_") and key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    environment.update(COLUMNS="200", **(env or {}))
    return subprocess.run([str(venv / "bin" / "policywatch"), *map(str, args)], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=timeout)


def test_the_plain_install_has_no_extras(plain_venv, tmp_path):
    probe = subprocess.run([str(plain_venv / "bin" / "python"), "-c", "import scrapy_redis"],
                           capture_output=True, text=True, cwd=tmp_path)
    assert probe.returncode != 0 and "No module named 'scrapy_redis'" in probe.stderr


def test_demo_runs_from_another_directory(plain_venv, tmp_path):
    result = _run(plain_venv, "demo", "--workdir", tmp_path / "demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "delivered to json://127.0.0.1:" in result.stdout
    assert "material" in result.stdout and (tmp_path / "demo" / "demo.db").is_file()


def test_crawl_against_a_local_page(plain_venv, tmp_path):
    site = FixtureSite().start()
    try:
        site.html("/privacy", POLICY.decode("utf-8"))
        db = tmp_path / "watch.db"
        added = _run(plain_venv, "--db", db, "target", "add", site.url("/privacy"), "--company", "Micromart",
                     cwd=tmp_path)
        assert added.returncode == 0, added.stderr
        # The page is on 127.0.0.1: a private address, fetched only when the operator allows it.
        crawled = _run(plain_venv, "--db", db, "crawl", "--all", cwd=tmp_path,
                       env={"POLICYWATCH_ALLOW_PRIVATE_TARGETS": "1"})
        assert crawled.returncode == 0, crawled.stderr[-3000:]
        assert "Traceback" not in crawled.stderr
        history = _run(plain_venv, "--db", db, "history", "Micromart", "--json", cwd=tmp_path)
        assert history.returncode == 0, history.stderr
        assert '"versions"' in history.stdout and "Micromart" in history.stdout
    finally:
        site.stop()


@pytest.mark.parametrize("args", [("worker", "--redis", "redis://127.0.0.1:1/0"),
                                  ("run", "--redis", "redis://127.0.0.1:1/0", "--ticks", "1")])
def test_redis_commands_name_the_extra_in_one_line(plain_venv, tmp_path, args):
    db = tmp_path / "watch.db"
    assert _run(plain_venv, "--db", db, "init", cwd=tmp_path).returncode == 0
    result = _run(plain_venv, "--db", db, *args, cwd=tmp_path, timeout=60)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'policywatch[redis]'" in lines[0], result.stderr
