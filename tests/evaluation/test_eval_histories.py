"""``policywatch eval --histories``: a small history set built here as a real git bundle in Open
Terms Archive's layout (one commit per version, ``X-ota-commit`` trailers, a technical upgrade),
with a reviewer's judgments alongside, replayed through the real ``backfill ota`` pipeline."""

import hashlib
import json
import os
import subprocess

import pytest

from monitor.compare import history
from monitor.errors import InputError
from monitor.evaluation.histories import evaluate_histories, folds, history_sets

DOC = """# {company} Privacy Policy

## Sharing

{sharing}

## Retention

- We keep logs for 30 days.
- Write to privacy@{host} to exercise your rights.
"""
NO_SALE = "We do not sell your personal data to anyone."
SALE = "We may sell your personal data to advertising partners."


def acme(sharing=NO_SALE, extra=""):
    return DOC.format(company="Acme", host="acme.example", sharing=sharing) + extra


# (service, text, date, subject, judged class or None for no judgment, borderline)
HISTORY = [
    ("Acme", acme(), "2020-01-01T00:00:00Z", "First record of Acme Privacy Policy", None),
    ("Acme", acme(SALE), "2020-03-01T00:00:00Z", "Record new changes of Acme Privacy Policy", "material"),
    ("Acme", acme(SALE).replace("# Acme Privacy Policy", "Acme Privacy Policy\n==="),
     "2020-04-01T00:00:00Z", "Apply technical or declaration upgrade on Acme Privacy Policy", None),
    # A typo fix (editorial), judged so: no alert.
    ("Acme", acme(SALE.replace("partners", "partners")).replace("logs", "log files"),
     "2020-05-01T00:00:00Z", "Record new changes of Acme Privacy Policy", "editorial"),
    # A new collection practice the reviewer judged noise: a false alert.
    ("Acme", acme(SALE, "\nWe collect your precise location to show you ads.\n").replace("logs", "log files"),
     "2020-07-01T00:00:00Z", "Record new changes of Acme Privacy Policy", "noise"),
    # A wording edit the reviewer judged material: a miss.
    ("Acme", acme(SALE, "\nWe collect your precise location to show you ads.\n").replace(
        "logs", "log files").replace("Write to", "Please write to"),
     "2021-01-01T00:00:00Z", "Record new changes of Acme Privacy Policy", "material"),
    ("Beta", DOC.format(company="Beta", host="beta.example", sharing=NO_SALE), "2020-01-01T00:00:00Z",
     "Start tracking Beta Privacy Policy", None),
    ("Beta", DOC.format(company="Beta", host="beta.example", sharing=SALE), "2022-01-01T00:00:00Z",
     "Record new changes of Beta Privacy Policy", "material"),
]


def original_sha(index):
    return hashlib.sha1(f"original-{index}".encode()).hexdigest()


def git(repo, *args, date=None):
    environment = {**os.environ, "GIT_AUTHOR_NAME": "OTA-Bot", "GIT_AUTHOR_EMAIL": "bot@ota.example",
                   "GIT_COMMITTER_NAME": "OTA-Bot", "GIT_COMMITTER_EMAIL": "bot@ota.example",
                   "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    if date:
        environment.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=environment)


@pytest.fixture(scope="module")
def histories(tmp_path_factory):
    """DIR/demo/{histories.bundle,judgments.jsonl}."""
    root = tmp_path_factory.mktemp("histories")
    repo = root / "work"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    judgments, previous = [], {}
    for index, (service, text, date, subject, judged) in enumerate(HISTORY):
        path = repo / service / "Privacy Policy.md"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        git(repo, "add", ".")
        git(repo, "commit", "-q", "-m", f"{subject}\n\n{'X-ota-commit'}: {original_sha(index)}", date=date)
        if judged:
            judgments.append({
                "service": service, "pair": sum(j["service"] == service for j in judgments) + 1,
                "old_commit": previous[service], "new_commit": original_sha(index), "date": date,
                "my_class": judged, "severity": 2 if judged == "material" else 0, "topics": [],
                "direction": "none", "borderline": index == 5, "rationale": f"reviewer on {index}"})
        if not subject.startswith("Apply technical"):
            previous[service] = original_sha(index)
    demo = root / "sets" / "demo"
    demo.mkdir(parents=True)
    git(repo, "bundle", "create", str(demo / "histories.bundle"), "--all")
    (demo / "judgments.jsonl").write_text("".join(json.dumps(j) + "\n" for j in judgments))
    return root / "sets"


def test_alerts_are_matched_with_the_judgments_of_their_commits(histories):
    result = evaluate_histories(histories).to_dict()
    overall = result["overall"]
    assert (overall["pairs"], overall["material"], overall["alerts"]) == (5, 3, 3)
    assert (overall["true_alerts"], overall["false_alerts"], overall["misses"]) == (2, 1, 1)
    assert overall["precision"] == pytest.approx(2 / 3, abs=1e-3)
    assert overall["recall"] == pytest.approx(2 / 3, abs=1e-3)
    # The miss is borderline: without borderline pairs recall is 1.
    assert overall["without_borderline"]["recall"] == 1.0

    acme_row, beta_row = result["services"]
    assert (acme_row["service"], acme_row["commits"], acme_row["technical_upgrades"]) == ("Acme", 6, 1)
    assert acme_row["service_years"] == pytest.approx(1.0, abs=0.01)
    assert acme_row["alerts_per_service_year"] == pytest.approx(2.0, abs=0.02)
    assert beta_row["alerts"] == 1 and beta_row["precision"] == 1.0

    [false_alert] = result["false_alerts"]
    assert false_alert["new_commit"] == original_sha(4) and false_alert["judged"]["rationale"] == "reviewer on 4"
    assert false_alert["recorded"]["class"] == "material"
    assert any("precise location" in e["sentence"] for e in false_alert["evidence"])
    [miss] = result["misses"]
    assert miss["new_commit"] == original_sha(5) and miss["recorded"]["class"] != "material"


def test_a_pair_across_a_technical_upgrade_is_scored_on_the_alert_at_its_new_commit(histories):
    result = evaluate_histories(histories)
    acme_pairs = result.histories[0].pairs
    after_upgrade = next(p for p in acme_pairs if p.judgment["new_commit"] == original_sha(3))
    # The reviewer judged it against the upgrade's text; so did the pipeline, which records the
    # upgrade as a technical version (never an alert), and it did not alert.
    assert after_upgrade.compared_with == original_sha(2)
    assert not after_upgrade.alert and not after_upgrade.gold


def test_dir_may_be_one_set_or_hold_several(histories, tmp_path):
    assert history_sets(histories) == [histories / "demo"]
    assert history_sets(histories / "demo") == [histories / "demo"]
    with pytest.raises(InputError, match="no history set"):
        history_sets(tmp_path)


def test_folds_with_nothing_tuned_equal_the_overall_figures(histories):
    result = folds(histories, grid=[{}])
    assert "nothing in the recording pipeline is tuned" in result["note"]
    overall = evaluate_histories(histories).overall()
    assert {k: result["overall"][k] for k in ("precision", "recall", "alerts")} == {
        k: overall[k] for k in ("precision", "recall", "alerts")}
    assert [s["service"] for s in result["services"]] == ["Acme", "Beta"]


def test_folds_choose_each_services_setting_on_the_other_services(histories):
    grid = history.tuning_grid()
    result = folds(histories, grid)
    assert result["tuned"] == sorted(history.TUNED) and len(result["all_data"]) == len(grid)
    assert all(s["settings"] in [run["settings"] for run in result["all_data"]] for s in result["services"])
    # Held out one at a time, every judged pair is scored exactly once.
    assert result["overall"]["pairs"] == evaluate_histories(histories).overall()["pairs"] == 5
    # The setting in force is the first of the grid: the recorded changes are its verdicts.
    assert result["all_data"][0]["settings"] == history.current()


def test_eval_command_histories(cli, histories):
    data = cli("eval", "--histories", histories, "--folds", "service", "--json", check=0).json()
    assert set(data) == {"histories", "folds"}
    assert data["histories"]["overall"]["alerts"] == 3
    assert data["folds"]["folds"] == "service"
    text = cli("eval", "--histories", histories / "demo", check=0).stdout
    assert "false alerts (1)" in text and "misses (1)" in text and "reviewer: reviewer on 4" in text
    assert cli("eval", "--folds", "service").returncode == 2
