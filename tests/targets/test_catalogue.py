"""``policywatch target import``: YAML catalogues and Open Terms Archive declarations."""

import json
import sqlite3
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

YAML = """
targets:
  - company: Acme
    url: https://acme.example/privacy
    select: [.content, {startBefore: "#a", endBefore: "#b"}]
    remove: .ad
    every: 6h
  - company: Beta
    url: https://beta.example/legal/privacy
    type: Privacy Notice
    render: js
"""

OTA = {
    "name": "Gamma",
    "terms": {
        "Privacy Policy": {"fetch": "https://gamma.example/privacy", "select": "main",
                           "remove": [".toc"], "executeClientScripts": True,
                           "filter": ["removeTrackers"]},
        "Terms of Service": {"combine": [{"fetch": "https://gamma.example/tos/1"},
                                         {"fetch": "https://gamma.example/tos/2", "remove": "aside"}],
                             "select": "article"},
    },
}


def rows(db_path):
    with sqlite3.connect(db_path) as connection:
        connection.row_factory = sqlite3.Row
        return {row["url"]: dict(row) for row in connection.execute("SELECT * FROM targets")}


def test_import_a_yaml_catalogue_is_idempotent(cli, db_path, tmp_path):
    catalogue = tmp_path / "targets.yaml"
    catalogue.write_text(YAML)
    first = cli("target", "import", catalogue, "--json", check=0).json()
    assert [t["company"] for t in first["added"]] == ["Acme", "Beta"]
    again = cli("target", "import", catalogue, "--json", check=0).json()
    assert again["added"] == [] and len(again["skipped"]) == 2
    stored = rows(db_path)
    acme = stored["https://acme.example/privacy"]
    assert json.loads(acme["select_css"]) == [".content", {"startBefore": "#a", "endBefore": "#b"}]
    assert json.loads(acme["remove_css"]) == [".ad"] and acme["every_seconds"] == 6 * 3600
    beta = stored["https://beta.example/legal/privacy"]
    assert beta["doc_type"] == "Privacy Notice" and beta["render"] == "js"


def test_import_ota_declarations_file_and_folder(cli, db_path, tmp_path):
    folder = tmp_path / "declarations"
    folder.mkdir()
    (folder / "Gamma.json").write_text(json.dumps(OTA))
    (folder / "Delta.json").write_text(json.dumps(
        {"name": "Delta", "documents": {"Privacy Policy": {"fetch": "https://delta.example/p"}}}))
    (folder / "Delta.history.json").write_text("{}")
    result = cli("target", "import", folder, "--json", check=0)
    report = result.json()
    types = sorted((t["company"], t["type"]) for t in report["added"])
    assert types == [("Delta", "Privacy Policy"), ("Gamma", "Privacy Policy"),
                     ("Gamma", "Terms of Service (page 1 of 2)"), ("Gamma", "Terms of Service (page 2 of 2)")]
    assert any("removeTrackers" in warning for warning in report["warnings"])
    stored = rows(db_path)
    assert stored["https://gamma.example/privacy"]["render"] == "js"
    assert json.loads(stored["https://gamma.example/tos/2"]["remove_css"]) == ["aside"]
    assert json.loads(stored["https://gamma.example/tos/1"]["select_css"]) == ["article"]
    listed = cli("target", "list", "--json", check=0).json()
    assert len(listed) == 4


@pytest.mark.parametrize("content,message", [
    ("- url: https://x.example/\n", "needs 'company' and 'url'"),
    ("- {company: X, url: 'https://x.example/', render: maybe}\n", "render must be"),
    ("just text\n", "expected a list of targets"),
    ("- [unclosed\n", "cannot read catalogue"),
])
def test_bad_catalogues_are_one_line_errors(cli, tmp_path, content, message):
    catalogue = tmp_path / "bad.yaml"
    catalogue.write_text(content)
    result = cli("target", "import", catalogue, check=1)
    assert message in result.stderr and "Traceback" not in result.stderr


def test_the_starter_catalogue_imports(cli):
    report = cli("target", "import", ROOT / "data" / "catalogue.yaml", "--json", check=0).json()
    assert len(report["added"]) >= 15
    assert len({t["company"] for t in report["added"]}) == len(report["added"])
