"""Issue 17 item 10: a declared but wrong charset is caught by one general check; right labels stay."""

import pytest

from monitor.extract import decode

TEXTS = {
    "fr": "Politique de confidentialité : nous ne vendons pas vos données personnelles à des tiers. "
          "Vous pouvez demander l'accès, la rectification ou l'effacement à tout moment.",
    "de": "Datenschutzerklärung: Wir verkaufen Ihre persönlichen Daten nicht an Dritte. "
          "Sie können jederzeit Auskunft, Berichtigung oder Löschung verlangen.",
    "ru": "Политика конфиденциальности: мы не продаём ваши персональные данные третьим лицам. "
          "Вы можете запросить доступ или удаление в любое время.",
    "ja": "プライバシーポリシー：当社はお客様の個人データを第三者に販売しません。"
          "いつでもアクセスや削除を請求できます。",
    "el": "Πολιτική απορρήτου: δεν πουλάμε τα προσωπικά σας δεδομένα σε τρίτους. "
          "Μπορείτε να ζητήσετε πρόσβαση ή διαγραφή ανά πάσα στιγμή.",
    "zh": "隐私政策：我们不会向第三方出售您的个人数据。您可以随时要求访问或删除您的数据。",
    "ko": "개인정보 처리방침: 당사는 귀하의 개인 데이터를 제3자에게 판매하지 않습니다. "
          "언제든지 열람 또는 삭제를 요청할 수 있습니다.",
}


def _html(text: str) -> str:
    return f"<html><body><main><h1>Policy</h1><p>{text}</p></main></body></html>"


@pytest.mark.parametrize("lang, encoding", [
    ("fr", "windows-1252"), ("de", "windows-1252"), ("ru", "windows-1251"), ("ja", "shift_jis"),
    ("el", "iso-8859-7"), ("zh", "gb2312"), ("ko", "euc-kr"), ("ru", "koi8-r"),
    *[(lang, "utf-8") for lang in TEXTS]])
def test_a_right_label_is_honoured(lang, encoding):
    body = _html(TEXTS[lang]).encode(encoding)
    assert TEXTS[lang] in decode(body, f"text/html; charset={encoding}")


@pytest.mark.parametrize("lang, encoding, label", [
    ("ru", "utf-8", "windows-1251"), ("ja", "utf-8", "shift_jis"), ("fr", "utf-8", "windows-1252"),
    ("el", "utf-8", "iso-8859-7"), ("zh", "utf-8", "euc-kr"),
    ("fr", "windows-1252", "shift_jis"), ("de", "windows-1252", "shift_jis"), ("fr", "windows-1252", "euc-kr"),
    ("de", "windows-1252", "gb2312"), ("fr", "windows-1252", "utf-8"), ("ru", "windows-1251", "windows-1252"),
])
def test_a_wrong_label_gives_the_text_not_mojibake(lang, encoding, label):
    body = _html(TEXTS[lang]).encode(encoding)
    assert TEXTS[lang] in decode(body, f"text/html; charset={label}")


def test_a_wrong_meta_label_is_caught_too():
    body = ('<html><head><meta charset="windows-1251"></head><body><p>' + TEXTS["ja"] + "</p></body></html>").encode()
    assert TEXTS["ja"] in decode(body, "text/html")
