"""History-level judgment (monitor/compare/history.py) on real stored versions: near-returns, pages that
alternate between known variants, and error or geo-block messages standing in for a section.

Every history is recorded twice through ``record_capture``, once as live fetches and once as a
backfill (``source="ota"``): the two must judge every change alike.
"""

import pytest

from monitor.compare import history
from monitor.record import Capture, record_capture
from monitor.store import open_store
from monitor.timeutil import now_iso

BASE = """# Acme Privacy Policy

## What we collect

We collect your name and email address when you sign up.
We collect the pages you visit on our site.

## Sharing

We share your data with payment processors to take payments.
{variant}
## Your rights

You may ask us for a copy of your data by writing to [privacy](https://acme.example/privacy).
You can call us on {phone}.
{extra}
## Retention

{retention}
"""
COLLECT = "We collect your name and email address when you sign up.\nWe collect the pages you visit on our site."
REGIONAL = "If you live in California, we may sell your personal data to data brokers.\n"
NEW_PRACTICE = "We use your photos to train our machine learning models.\n"


def page(variant="", phone="555-0100", extra="", retention="We keep your data for 30 days."):
    return BASE.format(variant=variant, phone=phone, extra=extra, retention=retention)


@pytest.fixture(params=["live", "ota"])
def recorder(request, tmp_path):
    store = open_store(tmp_path / f"{request.param}.db")
    target = store.add_target("https://acme.example/privacy", "Acme")

    def run(steps):
        outcomes = []
        for index, (text, day) in enumerate(steps):
            at = f"2024-{1 + day // 28:02d}-{1 + day % 28:02d}T00:00:00.000000Z"
            capture = Capture(target_id=target["id"], url=target["url"], started_at=now_iso(),
                              status=200, body=text.encode(), content_type="text/markdown")
            if request.param == "live":
                capture.fetched_at = at
            else:
                capture.source, capture.archived_at, capture.archive_ref = "ota", at, f"commit-{index}"
            recorded = record_capture(store, capture)
            change = store.get_change(recorded.change_id) if recorded.change_id else None
            outcomes.append((change["class"], [e["rule"] for e in change["evidence"]]) if change else None)
        return outcomes
    yield run
    store.close()


def classes(outcomes):
    return [o and o[0] for o in outcomes]


def test_a_near_return_to_any_earlier_text_is_noise(recorder):
    five_years = "We keep your data for 5 years."
    outcomes = recorder([
        (page(), 0),
        (page(retention=five_years), 1),  # a real change: material
        (page(retention=five_years, phone="555-0199"), 2),  # an editorial edit
        # The second text again, but for a reordering and a link target: noise, long after any
        # window (an exact return is settled before: monitor.record.recording).
        (page(retention=five_years).replace(
            "https://acme.example/privacy", "https://www.acme.example/privacy?ref=2").replace(
            COLLECT, "\n".join(reversed(COLLECT.split("\n")))), 200),
    ])
    assert classes(outcomes) == [None, "material", "editorial", "noise"]
    assert "near-return-to-version:2" in outcomes[3][1]


def test_a_return_with_an_editorial_edit_is_not_an_alert_within_the_window_only(recorder):
    outcomes = recorder([
        (page(), 0),
        (page(variant=REGIONAL), 1),  # a new sentence: one alert
        (page(phone="555-0101"), 3),  # back to the first text, plus a phone number: editorial
        (page(variant=REGIONAL, phone="555-0101"), 4),
        # Long after: the sentence comes back after the window and is judged as new.
        (page(phone="555-0102"), 5),
        (page(variant=REGIONAL, phone="555-0102"), 200),
    ])
    assert classes(outcomes) == [None, "material", "editorial", "noise", "editorial", "material"]


def test_alternating_variants_alert_once_per_real_change(recorder):
    # A regional sentence shows on some days and not on others, while editorial edits (a phone
    # number) and one real change (a new practice) happen: two alerts, one per real change.
    steps, phone = [], 100
    for day in range(12):
        phone += 1
        extra = NEW_PRACTICE if day >= 7 else ""
        steps.append((page(variant=REGIONAL if day % 2 else "", phone=f"555-0{phone}", extra=extra), day))
    outcomes = recorder(steps)
    alerts = [day for day, o in enumerate(outcomes) if o and o[0] == "material"]
    assert alerts == [1, 7]
    assert any(rule.startswith(("variant-seen:", "near-return-to-version:"))
               for o in outcomes[3:] if o for rule in o[1])


def test_a_seen_variant_does_not_hide_a_real_change_made_with_it(recorder):
    outcomes = recorder([
        (page(), 0),
        (page(variant=REGIONAL), 1),
        (page(phone="555-0101"), 2),
        # The variant comes back *and* the retention period changes: the alert is for the period.
        (page(variant=REGIONAL, phone="555-0101", retention="We keep your data for 10 years."), 3),
    ])
    assert outcomes[3][0] == "material"
    assert any(rule.startswith("variant-seen:") for rule in outcomes[3][1])
    assert any(not rule.startswith("variant-seen:") for rule in outcomes[3][1])


def test_a_sentence_removed_days_after_it_was_added_is_still_a_change(recorder):
    # Not a variant: it came once and goes with another real edit. Only a sentence that already
    # came and went is a known state when it goes.
    outcomes = recorder([
        (page(), 0),
        (page(variant=REGIONAL), 1),
        (page(retention="We keep your data for 10 years."), 5),
    ])
    assert outcomes[2][0] == "material"
    assert not any(rule.startswith("variant-seen:") for rule in outcomes[2][1])


@pytest.mark.parametrize("message", [
    "This content is not available in your location.",
    "Sorry, this section isn't available in your country.",
    "Access denied.",
    "Error 404: page not found.",
    "Please enable JavaScript to view this content.",
])
def test_an_error_message_replacing_a_section_is_noise(recorder, message):
    blocked = page().replace("We share your data with payment processors to take payments.", message)
    outcomes = recorder([
        (page(variant=REGIONAL), 0),
        (blocked.replace(REGIONAL, ""), 1),
        # The section comes back with a real change elsewhere: the alert is for that change only.
        (page(variant=REGIONAL, retention="We keep your data for 10 years."), 2),
    ])
    assert outcomes[1][0] == "noise"
    assert {"unavailable-message", "unavailable-section"} & set(outcomes[1][1])
    assert outcomes[2][0] == "material"
    assert "unavailable-section" in outcomes[2][1] or any(
        r.startswith("variant-seen:") for r in outcomes[2][1])


def test_a_real_policy_sentence_is_not_an_error_message():
    assert history.is_unavailable_message("This content is not available in your location.")
    assert not history.is_unavailable_message(
        "We collect your location to show you content available in your area and to prevent fraud, "
        "and we may share it with partners who provide services to us, as described in this policy, "
        "including advertising partners and analytics providers in the United States.")


def test_the_tuned_settings_start_with_the_defaults():
    defaults = history.current()
    assert history.tuning_grid()[0] == {name: defaults[name] for name in history.TUNED}
    with history.using({"window_days": 0.0}):
        assert history.settings().window_days == 0.0
    assert history.settings().window_days == defaults["window_days"]
    with pytest.raises(ValueError):
        with history.using({"nope": 1}):
            pass
