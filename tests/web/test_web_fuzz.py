"""Every route of the live web app answers hostile ids and parameters without a 5xx, and a
forged ``Host`` header never reaches links or feed ids."""

import http.client
from urllib.parse import urlsplit

import pytest

from tests.web.test_web_app import get
from tests.web.test_web_data import build_store, serving

ODD_IDS = ["0", "-1", "1.5", "1e9", "%C2%B2", "99999999999999999999", "9223372036854775807",
           "9223372036854775808", "%00", "abc", "1%20OR%201=1", "%27", "1" * 400]
ID_ROUTES = ["/document/{}/", "/change/{}/", "/version/{}/", "/capture/{}/raw", "/feeds/document/{}.atom",
             "/api/changes/{}", "/api/documents/{}", "/api/versions/{}", "/api/companies/{}",
             "/company/{}/", "/feeds/company/{}.atom", "/feeds/topic/{}.atom"]
PARAM_ROUTES = ["/", "/api/changes", "/export/changes.csv", "/companies/", "/api/companies",
                "/search/", "/api/search", "/compare/", "/api/compare", "/document/1/", "/api/documents/1",
                "/trends/", "/trends.csv"]
PARAMS = ["before", "page", "document", "severity", "a", "b", "limit", "letter", "q", "class", "topic",
          "month", "include", "year", "from", "to"]


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    db = tmp_path_factory.mktemp("webfuzz") / "policywatch.db"
    build_store(db)
    with serving(db) as base:  # no --base-url: the server's own address is the base
        yield base


@pytest.mark.parametrize("route", ID_ROUTES)
def test_odd_ids_never_answer_5xx(web, route):
    for odd in ODD_IDS:
        status, _, _ = get(web + route.format(odd))
        assert status < 500, (route, odd, status)


@pytest.mark.parametrize("route", PARAM_ROUTES)
def test_odd_parameters_never_answer_5xx(web, route):
    for name in PARAMS:
        for odd in ODD_IDS:
            status, _, body = get(f"{web}{route}?{name}={odd}")
            assert status < 500, (route, name, odd, status)
            if route.endswith(".csv"):
                assert body.startswith((b"id,", b"topic,")), (name, odd)  # a whole CSV, not a cut one


def test_a_forged_host_header_never_reaches_links_or_feed_ids(web):
    parts = urlsplit(web)
    for path in ("/feeds/all.atom", "/api/changes", "/"):
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        connection.request("GET", path, headers={"Host": "forged-host.invalid"})
        response = connection.getresponse()
        body = response.read()
        connection.close()
        assert response.status == 200, path
        assert b"forged-host.invalid" not in body, path
    status, _, body = get(web + "/feeds/all.atom")
    assert status == 200 and web.encode() in body  # ids built from the server's own address


def test_health_does_not_show_the_database_path(web):
    status, _, body = get(web + "/health")
    assert status in (200, 503)
    assert b"policywatch.db" not in body and b"webfuzz" not in body
