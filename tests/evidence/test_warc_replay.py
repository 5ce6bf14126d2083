"""What policywatch archives replays in pywb (Webrecorder's wayback machine), as any archivist would.

pywb pins libraries the project's own tests need at other versions (redis 2.x), so it runs from
a venv of its own, built once for the module. The crawl fetches one page twice unchanged: the
second fetch is a revisit record (identical payload digest) that pywb must resolve to the
original response's bytes.
"""

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.crawler.test_crawl_end_to_end import POLICY

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pywb_bin(tmp_path_factory):
    venv = tmp_path_factory.mktemp("pywb") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # --no-compile: byte-compiling the whole install is most of its time (see test_plain_install.py).
    installed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                                "--disable-pip-version-check", "--no-compile", "pywb>=2.8,<3"],
                               capture_output=True, text=True, timeout=900)
    assert installed.returncode == 0, installed.stderr[-2000:]
    return venv / "bin"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_captures_and_revisits_replay_in_pywb(pywb_bin, site, cli, db_path, tmp_path):
    url = site.html("/privacy", POLICY)
    cli("target", "add", url, "--company", "Acme", check=0)
    cli("crawl", check=0)
    cli("crawl", "--all", check=0)  # the same bytes again: a revisit record
    warcs = sorted((db_path.parent / "warc").glob("*.warc.gz"))
    assert warcs

    archive = tmp_path / "pywb"
    archive.mkdir()
    subprocess.run([str(pywb_bin / "wb-manager"), "init", "policies"], cwd=archive, check=True,
                   capture_output=True, timeout=120)
    subprocess.run([str(pywb_bin / "wb-manager"), "add", "policies", *map(str, warcs)], cwd=archive,
                   check=True, capture_output=True, timeout=120)
    index = (archive / "collections" / "policies" / "indexes" / "index.cdxj").read_text()
    rows = [json.loads(line.split(" ", 2)[2]) for line in index.splitlines() if "/privacy" in line]
    assert {row.get("mime") for row in rows} >= {"text/html", "warc/revisit"}, rows

    port = _free_port()
    log = (tmp_path / "wayback.log").open("w")
    server = subprocess.Popen([str(pywb_bin / "wayback"), "-p", str(port), "-b", "127.0.0.1"], cwd=archive,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while _get_or_none(base + "/") is None:
            assert server.poll() is None and time.monotonic() < deadline, \
                (tmp_path / "wayback.log").read_text()[-2000:]
            time.sleep(0.2)
        revisit = next(row for row in rows if row.get("mime") == "warc/revisit")
        timestamp = _timestamp_of(index, revisit)
        status, body = _get(f"{base}/policies/{timestamp}id_/{url}")
        assert status == 200
        assert body == POLICY.encode("utf-8")  # the revisit resolved to the original payload
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


def _get_or_none(url: str):
    try:
        return _get(url)
    except OSError:
        return None


def _timestamp_of(index: str, row: dict) -> str:
    for line in index.splitlines():
        if json.loads(line.split(" ", 2)[2]) == row:
            return line.split(" ")[1]
    raise AssertionError(f"{row} not in the index")
