"""`extract` and `diff` read local files only and never touch the database."""

OLD = """<html><body><main><h1>Privacy</h1>
<p>Last updated: May 1, 2023</p>
<p>We do not sell your personal information.</p>
<p>We keep your data for 12 months.</p>
<table><tr><th>Data</th><th>Purpose</th></tr><tr><td>Email</td><td>Login</td></tr></table>
</main></body></html>"""


def test_extract_prints_markdown_with_headings_lists_tables_links(cli, tmp_path, db_path):
    page = tmp_path / "page.html"
    page.write_text(OLD.replace("</main>", '<ul><li>One <a href="/x?utm_source=a">link</a></li></ul></main>'))
    result = cli("extract", page, "--url", "https://acme.example/privacy", check=0)
    assert "# Privacy" in result.stdout
    assert "| Email | Login |" in result.stdout
    assert "- One [link](https://acme.example/x?utm_source=a)" in result.stdout
    assert not db_path.exists()


def test_extract_select_and_remove(cli, tmp_path):
    page = tmp_path / "page.html"
    page.write_text(OLD)
    result = cli("extract", page, "--select", "main", "--remove", "table", check=0)
    assert "We do not sell" in result.stdout and "Email" not in result.stdout
    missing = cli("extract", page, "--select", "#nothing")
    assert missing.returncode == 1 and "matched nothing" in missing.stderr


def test_diff_json_contract(cli, tmp_path, db_path):
    old, new = tmp_path / "old.html", tmp_path / "new.html"
    old.write_text(OLD)
    new.write_text(OLD.replace("We do not sell your personal information.",
                               "We may sell your personal information to data brokers.")
                      .replace("May 1, 2023", "June 2, 2024"))
    report = cli("diff", old, new, "--json", check=0).json()
    assert report["class"] == "material"
    assert report["severity"] == 3
    assert "sale" in report["topics"]
    assert report["direction"] in ("expands", "mixed")
    assert report["stats"]["chars_added"] > 0 and report["stats"]["chars_removed"] > 0
    ops = {change["op"] for change in report["changes"]}
    assert ops <= {"insert", "delete", "replace"}
    for change in report["changes"]:
        assert {"op", "old", "new", "topics", "severity"} <= set(change)
    assert any("do not" in c["old"] and "may" in c["new"] for c in report["changes"])
    assert not db_path.exists()


def test_diff_of_identical_texts_modulo_dates_is_noise(cli, tmp_path):
    old, new = tmp_path / "old.md", tmp_path / "new.md"
    old.write_text("# Policy\n\nLast updated: May 1, 2023\n\nWe collect your email.\n")
    new.write_text("# Policy\n\nLast updated: 2024-06-02\n\nWe  collect your email.\n")
    report = cli("diff", old, new, "--json", check=0).json()
    assert report["class"] == "noise" and report["severity"] == 0


def test_diff_human_output_has_classification_and_markers(cli, tmp_path):
    old, new = tmp_path / "old.md", tmp_path / "new.md"
    old.write_text("We will not share your location.\n")
    new.write_text("We may share your location with partners.\n")
    result = cli("diff", old, new, check=0)
    assert "material" in result.stdout
    assert "[-" in result.stdout and "{+" in result.stdout
