"""Page skeletons on real captures (tests/fixtures/snapshots): equal skeletons must mean equal
text on every pair of captures of a run, and they must spare most same-text pairs an extraction."""

import itertools
from pathlib import Path

from monitor.extract import comparable_text, extract
from monitor.extract.skeleton import page_skeleton
from monitor.store import sha256_hex

SNAPSHOTS = Path(__file__).resolve().parents[1] / "fixtures" / "snapshots"
URL = "https://example.com/privacy"


def _captures(run: Path) -> list[tuple[str, str, str]]:
    found = []
    for page in sorted(run.glob("*.html")):
        body = page.read_bytes()
        skeleton = page_skeleton(body, "text/html", URL, "key")
        text = comparable_text(extract(body, "text/html", url=URL).text)
        found.append((sha256_hex(body), skeleton.sha256, text))
    return found


def test_equal_skeletons_mean_equal_text_and_save_most_extractions():
    pairs = same_text = same_skeleton = same_bytes = 0
    for run in sorted(p for p in SNAPSHOTS.iterdir() if p.is_dir()):
        for a, b in itertools.combinations(_captures(run), 2):
            pairs += 1
            if a[1] == b[1]:
                assert a[2] == b[2], f"{run.name}: equal skeletons, different text"
                same_skeleton += 1
            same_text += a[2] == b[2]
            same_bytes += a[0] == b[0]
    assert pairs >= 300
    # Measured: 191 of 260 same-text pairs share a skeleton; only 7 share their bytes.
    assert same_skeleton >= 0.6 * same_text > 10 * same_bytes
