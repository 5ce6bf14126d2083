"""Snapshot replay: does extraction hold on runs of real captures of one policy?

A run is a folder of raw captures (``01.html``…) with ``expected.json`` (groups of files that
must extract to the same text), the ``declaration.json`` that was valid then, and the Markdown
Open Terms Archive recorded (``ota-version-group-N.md``). See docs/extraction.md.

"Same text" is judged on ``comparable_text``, the form change detection compares: two captures
in one group that differed only there would never be recorded as two versions. A group *holds*
when all its files agree, and — unless the run's groups differ only in links or format — its
text differs from every other group of the run. A group is *stable and complete* (the issue's
figure, ``RunResult.complete``) when it holds, its stored texts are byte-identical too, and its
text keeps at least ``COMPLETE_SHARE`` of the words OTA recorded for it.
"""

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from monitor.errors import ExtractionError
from monitor.extract import comparable_text, extract
from monitor.targets import extraction_options

MODES = ("declaration", "fallback")
# A baseline for the bench: no selector, HTML landmarks only (close to "plain body text").
BASELINE_MODE = "landmarks"
# A group is complete when our text keeps this share of OTA's words for it.
COMPLETE_SHARE = 0.8
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class RunResult:
    """How one run replayed in one mode."""

    run: str
    mode: str
    groups: int
    held: int
    coverage: float  # lowest share of OTA's words found in our text, over the run's groups
    precision: float = 1.0  # lowest share of our words found in OTA's text (1.0: nothing extra)
    strict_held: int = 0  # groups whose stored (not only compared) texts are identical too
    failures: list[str] = field(default_factory=list)
    complete: int = 0  # groups held, byte-identical and keeping COMPLETE_SHARE of OTA's words
    group_coverage: list[float] = field(default_factory=list)


def words(text: str) -> Counter:
    """A bag of lower-cased words of the comparable form of a Markdown text."""
    return Counter(_WORD.findall(comparable_text(text)))


def coverage(reference: str, ours: str) -> float:
    """Share of the reference's words (counted with multiplicity) that our text also has."""
    wanted = words(reference)
    total = sum(wanted.values())
    if not total:
        return 1.0
    have = words(ours)
    return sum(min(count, have[word]) for word, count in wanted.items()) / total


def _extract_file(path: Path, mode: str, declaration: dict, detector: str | None = None) -> str:
    options = extraction_options(declaration) if mode == "declaration" else {}
    if mode == BASELINE_MODE:
        options["detector"] = "landmarks"
    elif detector:
        options["detector"] = detector
    return extract(path.read_bytes(), "text/html", url=declaration.get("fetch", ""),
                   name=path.name, **options).text


def replay_run(run_dir: Path, mode: str, detector: str | None = None) -> RunResult:
    """Replay one run folder in ``mode`` (``declaration``, ``fallback`` or ``landmarks``);
    ``detector`` names the main-content detector used without a selector (default: the default)."""
    expected = json.loads((run_dir / "expected.json").read_text())
    declaration = json.loads((run_dir / "declaration.json").read_text())
    groups = expected["same_text_groups"]
    failures: list[str] = []
    group_texts: list[set[str]] = []
    strict = []
    firsts: list[str | None] = []
    for files in groups:
        texts, stored = set(), set()
        first = None
        for name in files:
            try:
                text = _extract_file(run_dir / name, mode, declaration, detector)
            except ExtractionError as error:
                failures.append(f"{name}: {error}")
                texts.add(f"<error {name}>")
                continue
            first = first if first is not None else text
            texts.add(comparable_text(text))
            stored.add(text)
        strict.append(len(stored) == 1)
        group_texts.append(texts)
        firsts.append(first)
    must_differ = expected.get("groups_differ_in", "text") == "text"
    held_flags = []
    for index, texts in enumerate(group_texts):
        ok = len(texts) == 1
        if not ok:
            failures.append(f"group {index + 1}: {len(texts)} different texts")
        if ok and must_differ:
            clash = [other + 1 for other, o_texts in enumerate(group_texts)
                     if other != index and texts & o_texts]
            if clash:
                ok = False
                failures.append(f"group {index + 1}: same text as group(s) {clash}")
        held_flags.append(ok)
    group_cover = [1.0] * len(groups)
    precision = 1.0
    for number, name in expected.get("ota_versions", {}).items():
        reference = (run_dir / name).read_text(encoding="utf-8")
        ours = firsts[int(number) - 1] or ""
        group_cover[int(number) - 1] = coverage(reference, ours)
        precision = min(precision, coverage(ours, reference))
    complete = 0
    for index, ok in enumerate(held_flags):
        if ok and not strict[index]:
            failures.append(f"group {index + 1}: stored texts differ (compared texts agree)")
        if ok and strict[index] and group_cover[index] < COMPLETE_SHARE:
            failures.append(f"group {index + 1}: keeps {group_cover[index]:.0%} of OTA's words")
        complete += ok and strict[index] and group_cover[index] >= COMPLETE_SHARE
    return RunResult(run_dir.name, mode, len(groups), sum(held_flags), min(group_cover, default=1.0),
                     precision, sum(strict), failures, complete, group_cover)


def runs(root: Path) -> list[Path]:
    """The run folders under ``root`` (those holding an ``expected.json``), sorted."""
    return [run for run in sorted(root.iterdir()) if (run / "expected.json").is_file()]


def replay_all(root: Path, mode: str, detector: str | None = None) -> list[RunResult]:
    """Replay every run under ``root``."""
    return [replay_run(run, mode, detector) for run in runs(root)]
