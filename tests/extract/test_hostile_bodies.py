"""Bodies that are not a policy never become a version: random bytes served as text/html, and
the guards' titles (a document titled "Policy 404" is still a document)."""

import random
import sqlite3

import pytest

from monitor.errors import ExtractionError
from monitor.extract import extract
from monitor.extract.guards import GuardError, check_page, unreadable
from tests.sites import Page

PROSE = ("We collect your email address and your postal address to deliver your orders. "
         "We do not sell your personal information to anyone. ") * 20


@pytest.mark.parametrize("charset", ["", "; charset=utf-8", "; charset=iso-8859-1",
                                     "; charset=windows-1251", "; charset=shift_jis", "; charset=gb2312"])
def test_random_bytes_are_not_text_in_any_declared_charset(charset):
    for seed in range(5):
        body = random.Random(seed).randbytes(20_000)
        with pytest.raises(GuardError) as caught:
            extract(body, "text/html" + charset)
        assert caught.value.guard == "binary" and "not readable text" in str(caught.value)


@pytest.mark.parametrize("text", [
    PROSE,
    "Wir erheben Ihre E-Mail-Adresse, um Ihnen Bestellbestätigungen zu senden. " * 20,
    "Мы собираем ваш адрес электронной почты, чтобы отправлять вам квитанции. " * 20,
    "我们收集您的电子邮件地址以便向您发送收据。我们不会出售您的个人信息。" * 20,
    "当社は、領収書を送付するためにお客様のメールアドレスを収集します。" * 20,
    "| Category | Purpose | Retention |\n|---|---|---|\n| Email | Receipts | 2 years |\n" * 20,
])
def test_real_text_in_any_script_is_readable(text):
    assert unreadable(text) is None


@pytest.mark.parametrize("title, guarded", [
    ("Policy 404", False), ("Privacy Policy", False), ("404 Not Found", True), ("Error 404 | Acme", True),
    ("Page not found [/]", True), ("Acme - 503 Service Unavailable", True),
])
def test_status_codes_in_titles(title, guarded):
    html = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
    try:
        check_page(html, "A short page.")
    except GuardError:
        assert guarded
    else:
        assert not guarded


def test_random_bytes_as_text_html_make_no_version_and_no_alert(cli, site, db_path, receiver):
    site["/privacy"] = Page(random.Random(7).randbytes(30_000), headers={"Content-Type": "text/html"})
    cli("target", "add", site.url("/privacy"), "--company", "Noisy", check=0)
    cli("subscribe", receiver.url(), check=0)
    for _ in range(2):
        result = cli("crawl", "--all")
        assert result.returncode == 3, result
        assert "Traceback" not in result.stderr
    with sqlite3.connect(db_path) as connection:
        versions = connection.execute("SELECT count(*) FROM versions").fetchone()[0]
        deliveries = connection.execute("SELECT count(*) FROM deliveries").fetchone()[0]
        errors = connection.execute("SELECT error FROM captures WHERE outcome = 'error'").fetchall()
    assert versions == 0 and deliveries == 0 and len(errors) == 2
    assert all("not readable text" in error and "\n" not in error for (error,) in errors)


def test_extract_reports_random_bytes_in_one_line(tmp_path):
    with pytest.raises(ExtractionError):
        extract(random.Random(1).randbytes(5_000), "text/html")
