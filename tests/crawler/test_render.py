"""JS-rendered pages through the real Chromium (scrapy-playwright), against a local page."""

import sqlite3

import pytest

from crawler import render

pytestmark = [pytest.mark.skipif(not render.available(), reason=f"no Chromium at {render.chromium_path()}"),
              pytest.mark.slow]

JS_PAGE = """<!DOCTYPE html><html><head><title>Acme privacy</title></head><body>
<main><div id="app">Loading…</div></main>
<script>
  setTimeout(function () {
    var policy = document.createElement("section");
    policy.id = "policy";
    policy.innerHTML = "<h1>Acme Privacy Policy</h1><p>We keep your messages for 30 days.</p>" +
                       "<ul><li>We never sell personal data.</li></ul>";
    document.getElementById("app").replaceWith(policy);
  }, 200);
</script>
</body></html>"""


def versions(db_path):
    with sqlite3.connect(db_path) as connection:
        return [row[0] for row in connection.execute("SELECT text FROM versions ORDER BY id")]


def rendered_flags(db_path):
    with sqlite3.connect(db_path) as connection:
        return [row[0] for row in connection.execute("SELECT rendered FROM captures ORDER BY id")]


def test_render_js_target_waits_for_its_selector(site, cli, db_path, tmp_path):
    url = site.html("/privacy", JS_PAGE)
    catalogue = tmp_path / "targets.yaml"
    catalogue.write_text(f"- {{company: Acme, url: '{url}', select: '#policy', render: js}}\n")
    cli("target", "import", catalogue, check=0)
    result = cli("crawl", "--json", check=0)
    assert [c["outcome"] for c in result.json()] == ["first-version"], result
    [text] = versions(db_path)
    assert "# Acme Privacy Policy" in text and "- We never sell personal data." in text
    assert "Loading" not in text
    assert rendered_flags(db_path) == [1]


def test_a_plain_target_that_extracts_nothing_falls_back_to_rendering(site, cli, db_path):
    url = site.html("/privacy", JS_PAGE)
    cli("target", "add", url, "--company", "Acme", "--select", "#policy", check=0)
    # A pass starts a browser only when a target may need one: the first plain fetch finds no
    # #policy; the next pass renders the page.
    first = cli("crawl", "--json")
    assert [c["outcome"] for c in first.json()] == ["error"], first
    second = cli("crawl", "--all", "--json", check=0)
    assert [c["outcome"] for c in second.json()] == ["first-version"], second
    assert "We keep your messages for 30 days." in versions(db_path)[0]
    assert rendered_flags(db_path) == [0, 1]
