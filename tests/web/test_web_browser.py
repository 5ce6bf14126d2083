"""The journalists' web in a real browser: Debian's Chromium driven by Playwright, against the
real ``policywatch serve`` (uvicorn) on 127.0.0.1 over a store recorded by ``record_capture``.

Screenshots of every step land in test-output/screenshots/ for review.
"""

import re

import pytest

from tests.web.browsing import BROWSER_MARKS, Watched
from tests.web.test_web_data import build_store, serving

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    db = tmp_path_factory.mktemp("web") / "policywatch.db"
    ids = build_store(db)
    with serving(db) as base:
        yield base, ids


@pytest.fixture
def watched(browser):
    opened = []

    def make(**options) -> Watched:
        page = Watched(browser, **options)
        opened.append(page)
        return page

    yield make
    for page in opened:
        assert page.csp_violations == [], "a page broke its own Content-Security-Policy"
        assert page.errors == []
        page.close()


def test_home_to_company_to_timeline_to_change_and_the_diff_toggle(web, watched):
    base, ids = web
    w = watched()
    page = w.page
    page.goto(base + "/")
    assert page.title().startswith("Latest changes")
    w.shot("01-home")

    page.locator("a.company-link", has_text="Acme Corp").first.click()
    page.wait_for_url(re.compile(r"/company/acme-corp/$"))
    assert page.locator("h1").inner_text() == "Acme Corp"
    assert page.locator("a.document-link").all_inner_texts() == ["Privacy Policy", "Terms of Service"]
    w.shot("02-company")

    page.locator("a.document-link", has_text="Privacy Policy").click()
    page.wait_for_url(re.compile(rf"/document/{ids['acme']}/$"))
    versions = page.locator("ol.timeline li.version")
    assert versions.count() == 4
    # The newest version returns to the first text, and says so.
    assert "returns to an earlier text" in versions.first.inner_text()
    assert "noise" in versions.first.inner_text()
    assert "first version recorded" in versions.last.inner_text()
    w.shot("03-timeline")

    page.locator(f"a.change-link[href$='/change/{ids['sale_change']}/']").click()
    page.wait_for_url(re.compile(rf"/change/{ids['sale_change']}/$"))
    assert "material" in page.locator("p.classification").inner_text()
    assert "sale" in page.locator("p.classification").inner_text()
    # Material sentences are highlighted in the diff, with their topic and rule.
    material_rows = page.locator("table.side tr.material")
    assert material_rows.count() >= 1
    notes = page.locator("table.side tr.evidence-note").all_inner_texts()
    assert any("negation-removed" in note for note in notes)
    assert page.locator("table.side del", has_text="do not").count() == 1
    cite = page.locator("textarea.cite").input_value()
    assert "Acme Corp" in cite and "Privacy Policy" in cite and f"/change/{ids['sale_change']}/" in cite
    assert re.search(r"raw sha256 [0-9a-f]{64}", cite)
    assert page.locator("a[rel=next]").get_attribute("href").endswith(f"/change/{ids['typo_change']}/")

    side, inline = page.locator("#side"), page.locator("#inline")
    assert side.is_visible() and not inline.is_visible()
    w.shot("04-change-side-by-side")
    page.locator("#show-inline").click()
    assert inline.is_visible() and not side.is_visible()
    assert page.locator("#inline ins", has_text="may").count() >= 1
    w.shot("05-change-inline")
    page.locator("#show-side").click()
    assert side.is_visible() and not inline.is_visible()

    # The raw capture is a download, never a page of this site.
    with page.expect_download() as download_info:
        page.locator("a.raw-link").first.click()
    assert download_info.value.suggested_filename.endswith(".txt")


def test_diff_toggle_and_navigation_work_without_javascript(web, watched):
    base, ids = web
    w = watched(java_script_enabled=False)
    page = w.page
    page.goto(base + "/")
    page.locator(f"a.change-link[href$='/change/{ids['sale_change']}/']").first.click()
    page.wait_for_url(re.compile(rf"/change/{ids['sale_change']}/$"))
    assert page.locator("#side").is_visible() and not page.locator("#inline").is_visible()
    page.locator("#show-inline").click()
    assert page.locator("#inline").is_visible() and not page.locator("#side").is_visible()
    w.shot("06-change-inline-no-javascript")
    page.locator("#show-side").click()
    assert page.locator("#side").is_visible()


def test_compare_two_picked_versions(web, watched):
    base, ids = web
    w = watched()
    page = w.page
    page.goto(f"{base}/document/{ids['acme']}/")
    choices = page.locator("#compare-a option").evaluate_all("options => options.map(o => o.value)")
    oldest, newest = choices[-1], choices[0]
    page.select_option("#compare-a", oldest)
    page.select_option("#compare-b", choices[1])
    page.locator("form.compare button").click()
    page.wait_for_url(re.compile(r"/compare/\?a=\d+&b=\d+"))
    assert f"v{oldest}" in page.locator("h1").inner_text()
    assert page.locator("#side del").count() >= 1
    w.shot("07-compare")
    # The first and the last version have the same text: the page says so.
    page.goto(f"{base}/compare/?a={oldest}&b={newest}")
    assert "identical" in page.locator("main").inner_text()


def test_search_finds_current_and_past_versions_with_snippets(web, watched):
    base, ids = web
    w = watched()
    page = w.page
    page.goto(base + "/")
    page.fill("header input[name=q]", "sell")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search/\?q=sell"))
    results = page.locator("li.result")
    assert results.count() >= 4
    texts = results.all_inner_texts()
    assert any("past version" in text for text in texts) and any("current" in text for text in texts)
    assert page.locator("li.result mark").first.inner_text().lower().startswith("sell")
    w.shot("08-search")
    page.locator("input[name=scope]").check()
    page.locator("form.search-page button").click()
    page.wait_for_url(re.compile(r"scope=current"))
    assert all("past version" not in text for text in page.locator("li.result").all_inner_texts())
    page.goto(base + "/search/?q=" + "%22precise%20location%22")
    assert page.locator("li.result").count() == 1
    page.goto(base + "/search/?q=%22unbalanced%20AND%20(")
    assert page.locator("p.none").count() + page.locator("li.result").count() >= 1


def test_hostile_policy_renders_as_text_and_runs_nothing(web, watched):
    base, ids = web
    w = watched()
    page = w.page
    for path in ("/", f"/change/{ids['evil_change']}/", f"/document/{ids['evil']}/", "/companies/",
                 "/search/?q=pwned"):
        page.goto(base + path)
        assert page.evaluate("typeof window.__pwned") == "undefined", path
        assert page.locator("a[href^='javascript:' i]").count() == 0, path
        assert page.locator("main script, main img, main iframe").count() == 0, path
    page.goto(f"{base}/change/{ids['evil_change']}/")
    assert 'Evil <script>alert("x")</script> Ltd' in page.locator("h1").inner_text()
    page.locator("#show-inline").click()
    inline_text = page.locator("#inline").inner_text()
    assert "<script>window.__pwned = 1</script>" in inline_text
    assert "[our terms](javascript:window.__pwned=3)" in inline_text
    w.shot("09-hostile-change")
    version = page.locator("dl.versions a[href*='/version/']").nth(1).get_attribute("href")
    page.goto(base + version)
    assert '<img src=x onerror="window.__pwned=2">' in page.locator("pre.policy").inner_text()
    page.locator("pre.policy").click()
    assert page.evaluate("typeof window.__pwned") == "undefined"
    w.shot("10-hostile-version")
    assert w.dialogs == []


def test_static_site_works_from_a_plain_file_server(tmp_path, web, watched):
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from monitor.web.static_site import build

    _, ids = web
    db = tmp_path / "policywatch.db"
    build_store(db)
    root = tmp_path / "www"

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/policies"
        build(str(db), root / "policies", base_url=base)
        w = watched()
        page = w.page
        page.goto(base + "/")
        assert page.locator("form.search").count() == 0  # no server, no search box
        page.locator("a.company-link", has_text="Acme Corp").first.click()
        page.wait_for_url(re.compile(r"/policies/company/acme-corp/$"))
        page.locator("a.document-link", has_text="Privacy Policy").click()
        assert page.locator("ol.timeline li.version").count() == 4
        page.locator(f"a.change-link[href$='/change/{ids['sale_change']}/']").click()
        page.wait_for_url(re.compile(rf"/policies/change/{ids['sale_change']}/$"))
        page.locator("#show-inline").click()
        assert page.locator("#inline").is_visible() and not page.locator("#side").is_visible()
        w.shot("11-static-site-change")
        page.goto(f"{base}/change/{ids['evil_change']}/")
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.locator("a[href^='javascript:' i]").count() == 0
    finally:
        server.shutdown()
        server.server_close()
