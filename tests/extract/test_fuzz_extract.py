"""Fuzzing ``extract`` with hypothesis: random and mutated HTML gives text or an ExtractionError."""

import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.errors import ExtractionError
from monitor.extract import comparable_text, extract

SEED = (Path(__file__).resolve().parents[1] / "fixtures" / "snapshots" / "lex" / "01.html").read_bytes()[:20_000]
TAGS = ["div", "p", "h1", "h2", "ul", "li", "table", "tr", "td", "a", "main", "article", "nav",
        "script", "style", "span", "em", "strong", "br", "img", "iframe", "svg", "dialog", "form"]
ATTRS = ['', ' class="content"', ' id="onetrust-consent-sdk"', ' role="dialog"', ' href="/x?utm_source=a"',
         ' hidden', ' style="display:none"', ' lang="fr"', ' charset="utf-16"']

fragment = st.recursive(
    st.text(max_size=40),
    lambda children: st.tuples(st.sampled_from(TAGS), st.sampled_from(ATTRS), st.lists(children, max_size=5),
                               st.booleans()).map(
        lambda t: f"<{t[0]}{t[1]}>{''.join(t[2])}" + (f"</{t[0]}>" if t[3] else "")),
    max_leaves=30)
SELECTORS = st.lists(st.sampled_from(["main", ".content", "p", "#nope", "h1 + p", "div > div",
                                      {"startBefore": "h1", "endAfter": "p"}, "[", "::x"]), max_size=2)
# FUZZ_EXAMPLES=1500 for a longer run (about 45 s); CI keeps it short.
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "120"))
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(body: bytes, content_type=None, **options):
    try:
        extraction = extract(body, content_type, url="https://fuzz.example/p", **options)
    except ExtractionError as error:
        assert str(error)
        return
    assert isinstance(extraction.text, str) and extraction.text.strip()
    comparable_text(extraction.text)


@FUZZ
@given(html=fragment, select=SELECTORS, remove=SELECTORS, content_type=st.sampled_from(
    [None, "text/html", "text/html; charset=latin-1", "application/xhtml+xml", "text/plain"]))
def test_random_html(html, select, remove, content_type):
    _check(f"<html><body>{html}</body></html>".encode("utf-8", "surrogatepass"), content_type,
           select=select, remove=remove)


@FUZZ
@given(data=st.data())
def test_mutated_real_page(data):
    body = bytearray(SEED)
    for _ in range(data.draw(st.integers(1, 20))):
        position = data.draw(st.integers(0, len(body) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "dup", "null"]))
        if action == "flip":
            body[position] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del body[position:position + data.draw(st.integers(1, 500))]
        elif action == "dup":
            body[position:position] = body[position:position + data.draw(st.integers(1, 500))]
        else:
            body[position:position] = b"\x00"
        if not body:
            body = bytearray(b" ")
    _check(bytes(body), data.draw(st.sampled_from([None, "text/html"])))


@FUZZ
@given(body=st.binary(max_size=2000))
def test_random_bytes(body):
    _check(body, None)
