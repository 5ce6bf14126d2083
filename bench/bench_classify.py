"""Speed of ``compare`` (structure-aware diff + default classifier) on large policy pairs.

Targets (issue 3): a pair of 100 KB policies in under 100 ms median, a pair of 1 MB policies in
under 2 s. Not a timed test: run it and read the figures.

    .venv/bin/python bench/bench_classify.py [--runs 7]

The policies are built from the real policies in tests/fixtures/corpus_pairs (repeated, each
line tagged with its copy, until the size is reached); the new version has a realistic mix of
edits every few KB: a changed word, a removed negative commitment, a new sentence, a deleted
sentence, and one moved section.
"""

import argparse
import random
import re
import statistics
import time
from pathlib import Path

from monitor.compare import compare
from monitor.extract import normalise_text

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "corpus_pairs"
EDITS = [
    ("replace", "We do not sell your personal information.", "We may sell your personal information to partners."),
    ("insert", None, "We may use your content to train our artificial intelligence models."),
    ("insert", None, "We keep your data for 10 years after you close your account."),
    ("delete", None, None),
    ("word", None, None),
]


def build_policy(size: int) -> str:
    """Real policy text, repeated (each copy under its own numbered heading) up to ``size`` bytes."""
    sources = [normalise_text(p.read_text("utf-8")) for p in sorted(FIXTURES.glob("*/old.md"))]
    parts, total, copy = [], 0, 0
    while total < size:
        for text in sources:
            # Tag every line of a copy so copies do not repeat each other's sentences (a repeat
            # would be recognised as one and make the diff unrealistically small).
            tagged = "\n".join(re.sub(r"([.!?]) ", rf"\1 (p{copy}.{n}) ", line) + f" (p{copy}.{n})"
                               if line.strip() else line for n, line in enumerate(text.split("\n")))
            chunk = f"\n## Part {copy}\n\n{tagged}"
            parts.append(chunk)
            total += len(chunk.encode())
            copy += 1
            if total >= size:
                break
    return "".join(parts)


def edit_policy(text: str, every: int = 8000, seed: int = 3) -> str:
    """A new version of ``text`` with one edit every ``every`` characters and one moved section."""
    rng = random.Random(seed)
    paragraphs = text.split("\n\n")
    out, position = [], 0
    for index, paragraph in enumerate(paragraphs):
        position += len(paragraph)
        if position > every and len(paragraph) > 80:
            position = 0
            kind, _, added = EDITS[index % len(EDITS)]
            if kind == "replace":
                paragraph = paragraph + " We may sell your personal information to partners."
            elif kind == "insert":
                out.append(added)
            elif kind == "delete":
                continue
            else:
                tokens = paragraph.split(" ")
                tokens[rng.randrange(len(tokens))] = "substantially"
                paragraph = " ".join(tokens)
        out.append(paragraph)
    # Move one block of paragraphs from the middle to the end.
    middle = len(out) // 2
    moved = out[middle:middle + 5]
    del out[middle:middle + 5]
    return "\n\n".join(out + moved)


def bench(size: int, runs: int) -> dict:
    old = build_policy(size)
    new = normalise_text(edit_policy(old))
    old = normalise_text(old)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        assessment, _, _ = compare(old, new)
        times.append(time.perf_counter() - started)
    return {"size_kb": len(old.encode()) // 1024, "median_s": statistics.median(times), "min_s": min(times),
            "changes": len(assessment.hunks), "class": assessment.klass}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    # Load the rules and the language profiles (a one-time cost per process) outside the timing.
    compare("Nous ne vendons pas vos données personnelles à des tiers.\n",
            "Nous pouvons vendre vos données personnelles à des tiers.\n")
    for size, target in ((100_000, 0.1), (1_000_000, 2.0)):
        result = bench(size, args.runs if size < 500_000 else max(3, args.runs // 2))
        verdict = "ok" if result["median_s"] < target else "SLOW"
        print(f"{result['size_kb']:>5} KB pair: median {result['median_s'] * 1000:8.1f} ms "
              f"(min {result['min_s'] * 1000:.1f} ms, target < {target * 1000:.0f} ms) {verdict}; "
              f"{result['changes']} changed sentences, class {result['class']}")


if __name__ == "__main__":
    main()
