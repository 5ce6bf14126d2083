"""The evidence report as PDF: printed from report.html by Debian's Chromium, hashed and verified."""

import io
import json
import shutil

import pytest
from pypdf import PdfReader

from monitor.evidence import chromium_path

needs_chromium = pytest.mark.skipif(not shutil.which(chromium_path()),
                                    reason=f"needs Debian's chromium at {chromium_path()}")


def _manifest(bundle):
    return json.loads((bundle / "manifest.json").read_text())


@needs_chromium
@pytest.mark.slow
def test_bundle_has_a_verified_pdf_of_the_report(crawled, cli, tmp_path):
    out = tmp_path / "bundle"
    exported = cli("evidence", "export", "--company", "Acme", out, check=0)
    assert "report.pdf" in exported.stderr and "warning" not in exported.stderr
    data = (out / "report.pdf").read_bytes()
    assert data.startswith(b"%PDF-")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert "Evidence bundle: Acme" in text and "material" in text and "Ledger segment" in text
    manifest = _manifest(out)
    assert manifest["report_pdf"]["file"] == "report.pdf"
    assert manifest["report_pdf"]["renderer"].startswith("Chromium ")
    assert "report.pdf" in manifest["files"]
    ok = cli("evidence", "verify", out, check=0)
    assert ok.stdout.startswith("OK: 2 versions") and "report.pdf verified" in ok.stdout

    pdf = bytearray(data)
    pdf[len(pdf) // 2] ^= 0x01
    (out / "report.pdf").write_bytes(bytes(pdf))
    broken = cli("evidence", "verify", out, check=2)
    assert broken.stdout.startswith("BROKEN: file report.pdf: does not match its sha256")


def test_without_a_browser_the_bundle_says_no_pdf(crawled, cli, tmp_path):
    out = tmp_path / "bundle"
    result = cli("evidence", "export", "--company", "Acme", out,
                 env={"POLICYWATCH_CHROMIUM": str(tmp_path / "no-such-chromium")}, check=0)
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warnings == [(f"policywatch: warning: report.pdf not written: no browser to print it with: "
                         f"{tmp_path / 'no-such-chromium'} is not installed "
                         "(apt-get install chromium, or set POLICYWATCH_CHROMIUM)")]
    assert not (out / "report.pdf").exists() and not list(out.glob("*.partial"))
    pdf = _manifest(out)["report_pdf"]
    assert pdf["file"] is None and "no browser" in pdf["note"]
    assert cli("evidence", "verify", out, check=0).stdout.startswith("OK: ")


def test_no_pdf_flag(crawled, cli, tmp_path):
    out = tmp_path / "bundle"
    result = cli("evidence", "export", "--company", "Acme", "--no-pdf", out, check=0)
    assert "warning" not in result.stderr and not (out / "report.pdf").exists()
    assert _manifest(out)["report_pdf"] == {"file": None, "note": "not requested (--no-pdf)"}


def test_a_pdf_claimed_but_missing_is_named(crawled, cli, tmp_path):
    out = tmp_path / "bundle"
    cli("evidence", "export", "--company", "Acme", "--no-pdf", out, check=0)
    manifest = _manifest(out)
    manifest["report_pdf"] = {"file": "report.pdf"}
    (out / "manifest.json").write_text(json.dumps(manifest))
    result = cli("evidence", "verify", out, check=2)
    assert result.stdout.startswith("BROKEN: file report.pdf:")
