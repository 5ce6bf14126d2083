"""Plain-language summaries from a data table of real evidence (tests/data/summary_cases.yaml)."""

from pathlib import Path

import pytest
import yaml

from monitor.compare import summary

CASES = yaml.safe_load((Path(__file__).parents[1] / "data" / "summary_cases.yaml").read_text(encoding="utf-8"))


def test_the_table_has_enough_real_cases():
    assert sum(case["source"].startswith("corpus/") for case in CASES) >= 25


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_summary(case):
    result = summary.summarise(case["change"])
    assert result["headline"] == case["headline"]
    assert [f"{b['mark']}: {b['text']}" for b in result["bullets"]] == case["bullets"]
    assert result["more"] == case.get("more", 0)


def test_one_bullet_per_sentence_and_at_most_five():
    for case in CASES:
        bullets = summary.summarise(case["change"])["bullets"]
        assert len(bullets) <= 5
        assert len({b["text"] for b in bullets}) == len(bullets)


def test_a_removed_negative_commitment_comes_first():
    (case,) = [c for c in CASES if c["name"] == "012-bumble-2023-04-12"]
    first = summary.summarise(case["change"])["bullets"][0]
    assert first["mark"] == "removed" and first["rules"] == ["negative-commitment-removed"]


def test_quotes_are_cut_at_word_boundaries():
    assert summary.cut("We do not sell your personal data", 20) == "We do not sell your…"
    assert summary.cut("short", 20) == "short"
    for case in CASES:
        for bullet in summary.summarise(case["change"])["bullets"]:
            assert len(bullet["text"]) < 600


def test_crawled_braces_are_not_expanded_and_markdown_is_plain():
    change = {"class": "material", "severity": 3, "classifier": "rules", "hunks": [],
              "evidence": [{"sentence": "We do **not** sell {quote} [data](http://x.example).", "side": "old",
                            "rule": "negative-commitment-removed", "topics": ["sale"]}]}
    result = summary.summarise(change)
    assert result["bullets"][0]["text"] == "No longer says: “We do not sell {quote} data.”"


def test_stale_stored_summaries_are_rederived():
    case = CASES[0]["change"]
    stored = {**summary.summarise(case), "version": "old", "headline": "stale"}
    import json
    assert summary.summary_of({**case, "summary": json.dumps(stored)})["headline"] == CASES[0]["headline"]
    current = summary.summarise(case)
    assert summary.summary_of({**case, "summary": json.dumps(current)}) == current


def test_the_migration_adds_the_column_and_old_changes_get_summaries(tmp_path):
    import json

    from monitor.record import rebuild_summaries
    from monitor.store import open_store
    store = open_store(tmp_path / "pw.db")
    assert "summary" in store.db["changes"].columns_dict
    change = CASES[0]["change"]
    target_id = store.add_target("https://example.com/privacy", "Acme")["id"]
    old, new = (store.add_version({"target_id": target_id, "text": text}) for text in ("old", "new"))
    change_id = store.db["changes"].insert({
        "target_id": target_id, "from_version_id": old, "to_version_id": new, "detected_at": "2026-01-01T00:00:00Z",
        "class": change["class"], "severity": change["severity"], "topics": "[]", "direction": "none",
        "evidence": json.dumps(change["evidence"]), "hunks": json.dumps(change["hunks"]),
        "classifier": "rules"}).last_pk  # as stored before the migration: no summary
    assert summary.summary_of(store.get_change(change_id))["headline"] == CASES[0]["headline"]  # lazily
    assert rebuild_summaries(store, missing_only=True).rebuilt == 1
    assert json.loads(store.db["changes"].get(change_id)["summary"])["headline"] == CASES[0]["headline"]
    assert rebuild_summaries(store).rebuilt == 0
    store.close()
