"""Fetch safety: link-local and metadata addresses are never fetched, private ones only when allowed.

Only 127.0.0.1 is ever contacted: the refused addresses are refused before any connection.
"""

import sqlite3

import pytest

from crawler.address_guard import refusal
from tests.sites import Page

POLICY = "<html><body><main><h1>Privacy</h1><p>We collect your email address to send receipts.</p></main></body></html>"


@pytest.mark.parametrize("address, allow_private, refused", [
    ("169.254.169.254", True, True),       # the cloud metadata service
    ("fe80::1", True, True),
    ("fd00:ec2::254", True, True),         # AWS's IPv6 metadata address
    ("100.100.100.200", True, True),       # Alibaba Cloud's
    ("::ffff:169.254.169.254", True, True),
    ("0.0.0.0", True, True),
    ("224.0.0.1", True, True),
    ("127.0.0.1", False, True),
    ("10.1.2.3", False, True),
    ("192.168.0.10", False, True),
    ("100.64.0.1", False, True),           # carrier-grade NAT
    ("::1", False, True),
    ("::ffff:127.0.0.1", False, True),
    ("127.0.0.1", True, False),
    ("10.1.2.3", True, False),
    ("93.184.215.14", False, False),       # a public address (classified only, never contacted)
    ("2606:4700::1111", False, False),
])
def test_address_table(address, allow_private, refused):
    assert (refusal(address, allow_private) is not None) == refused


def _captures(db):
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT outcome, error_kind, error FROM captures").fetchall(), \
            connection.execute("SELECT count(*) FROM versions").fetchone()[0]


def test_a_loopback_target_is_refused_unless_allowed(cli, site, db_path):
    site.html("/privacy", POLICY)
    cli("target", "add", site.url("/privacy"), "--company", "Local", check=0)
    refused = cli("crawl", "--all", env={"POLICYWATCH_ALLOW_PRIVATE_TARGETS": ""})
    assert refused.returncode == 3, refused
    captures, versions = _captures(db_path)
    assert versions == 0 and captures[-1][1] == "blocked-address"
    assert "POLICYWATCH_ALLOW_PRIVATE_TARGETS=1" in captures[-1][2]
    assert site.requests == []  # refused before connecting
    cli("crawl", "--all", env={"POLICYWATCH_ALLOW_PRIVATE_TARGETS": "1"}, check=0)
    assert _captures(db_path)[1] == 1


def test_a_redirect_to_the_metadata_service_is_refused_even_when_private_is_allowed(cli, site, db_path):
    site["/privacy"] = Page(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    cli("target", "add", site.url("/privacy"), "--company", "Sly", check=0)
    result = cli("crawl", "--all", env={"POLICYWATCH_ALLOW_PRIVATE_TARGETS": "1"})
    assert result.returncode == 3, result
    captures, versions = _captures(db_path)
    assert versions == 0 and captures[-1][1] == "blocked-address"
    assert "169.254.169.254" in captures[-1][2]
