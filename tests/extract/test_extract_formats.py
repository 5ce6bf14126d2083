"""Extraction of real-world formats and hostile bodies, from data tables.

PDFs (reflow-insensitive), encodings (HTTP, meta, BOM, mislabelled), compressed bodies and
bombs, huge, binary, empty and deeply nested bodies: a text or a clear ``ExtractionError``.
"""

import gzip

import pytest

from monitor.errors import ExtractionError
from monitor.extract.extractor import MAX_BODY_BYTES, extract


def make_pdf(pages: list[list[str]]) -> bytes:
    """A PDF whose pages show the given lines, top to bottom."""
    objects: list[bytes] = []
    font_id = 3
    page_ids = []
    contents = []
    for lines in pages:
        ops = ["BT", "/F1 11 Tf", "14 TL", "72 760 Td"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({escaped}) Tj T*")
        ops.append("ET")
        contents.append("\n".join(ops).encode("latin-1"))
    next_id = 4
    for _ in pages:
        page_ids.append(next_id)
        next_id += 2
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for pid, stream in zip(page_ids, contents):
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {pid + 1} 0 R "
                       f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode())
        objects.append(b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def test_pdf_text_ignores_line_and_page_breaks():
    one = make_pdf([["We collect your email address and", "your name when you sign up.",
                     "- We never sell data."], ["2"]])
    two = make_pdf([["We collect your email", "address and your name when you", "sign up."],
                    ["1 of 2"], ["- We never sell", "data."]])
    text = extract(one, "application/pdf").text
    assert text == "We collect your email address and your name when you sign up.\n\n- We never sell data.\n"
    assert extract(two, None).text == text


def test_a_broken_pdf_is_an_extraction_error():
    with pytest.raises(ExtractionError):
        extract(b"%PDF-1.4\n1 0 obj <<>> garbage", "application/pdf")


POLICY = ("<html><body><main><h1>Politique de confidentialité</h1>"
          "<p>Données à caractère personnel — “réservé”.</p></main></body></html>")
ENCODINGS = [
    # (body, content type, why)
    (POLICY.encode("utf-8"), "text/html; charset=utf-8", "declared in HTTP"),
    (POLICY.encode("cp1252"), "text/html; charset=windows-1252", "declared single-byte"),
    (POLICY.replace("<html>", '<html><head><meta charset="windows-1252"></head>').encode("cp1252"),
     "text/html", "declared in a meta tag"),
    (b"\xef\xbb\xbf" + POLICY.encode("utf-8"), "text/html", "a UTF-8 BOM"),
    (POLICY.encode("utf-8"), "text/html; charset=iso-8859-1", "UTF-8 mislabelled as Latin-1"),
    (POLICY.encode("cp1252"), "text/html; charset=utf-8", "Windows-1252 mislabelled as UTF-8"),
    (POLICY.encode("cp1252"), "text/html", "undeclared Windows-1252"),
]


@pytest.mark.parametrize("body,content_type,why", ENCODINGS, ids=[e[2] for e in ENCODINGS])
def test_encodings_decode_to_the_same_text(body, content_type, why):
    text = extract(body, content_type).text
    assert "# Politique de confidentialité" in text, why
    assert "Données à caractère personnel - \"réservé\"." in text, why


HOSTILE = [
    # (body, content type, a word the error must contain)
    (b"", "text/html", "empty"),
    (b"   \n\t ", "text/html", "empty"),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "image/png", "image/png"),
    (bytes(range(256)) * 64, None, "binary"),
    (gzip.compress(b"<html><body>" + b"A" * (30 * 1024 * 1024) + b"</body></html>"), "text/html", "bomb"),
    (b"<html><body>" + b"x" * (MAX_BODY_BYTES + 1), "text/html", "cap"),
    (b"<html><body><main><p>policy</p></main></body></html>", "text/html", None),  # control
    (gzip.compress(b"<html><body><p>zipped policy</p></body></html>"), "text/html", None),
]


@pytest.mark.parametrize("body,content_type,word", HOSTILE,
                         ids=["empty", "blank", "png", "binary", "gzip-bomb", "huge", "control", "gzip"])
def test_hostile_bodies_give_a_clear_error(body, content_type, word):
    if word is None:
        assert extract(body, content_type).text.strip()
        return
    with pytest.raises(ExtractionError) as caught:
        extract(body, content_type)
    assert word in str(caught.value)


def test_deeply_nested_html_does_not_crash():
    body = ("<html><body>" + "<div>" * 50_000 + "<p>deep policy text</p>" + "</div>" * 50_000
            + "</body></html>").encode()
    try:
        text = extract(body, "text/html").text
    except ExtractionError as error:
        assert "nested" in str(error) or "no text" in str(error) or "empty" in str(error)
    else:
        assert isinstance(text, str)


def test_malformed_html_still_extracts():
    body = b"<html><body><main><h2>Rights<p>You may <b>object<i> at any time</b></i><li>one<li>two</table></main>"
    text = extract(body, "text/html").text
    assert "You may" in text and "object" in text and "two" in text
