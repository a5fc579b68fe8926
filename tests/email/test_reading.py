"""Reading mail without a database: the text a manager sees for each client's quoting
style, charsets, attachment names, machine mail, tagged addresses and their tokens, and
the settings that switch e-mail on."""

from __future__ import annotations

from pathlib import Path

import pytest

from bots.email.addresses import ReplyAddresses
from bots.email.config import DEFAULT_TAG_PATTERN
from bots.email.content import display_text, html_to_text
from bots.email.inbound import is_ours, to_incoming
from bots.email.parse import parse_mail
from inbox.channel import Automatic
from runtime.bootstrap import bootstrap
from runtime.settings import SettingsError, load_settings
from runtime.worker import jobs_for
from tests.email.conftest import CORPUS, DESK, SECRET, email_env

ADDRESSES = ReplyAddresses(DESK, DEFAULT_TAG_PATTERN, SECRET.encode())

# What the manager reads of each mail: exactly this, quotes and signatures gone.
SHOWN = {
    "gmail_en_reply_by_tag.eml": "Hi! Yes, the deadline of December 10 works for me. "
    "I will send the\nmethodology notes tomorrow.\n\nThanks,\nAnna",
    "gmail_ru_reply_by_tag.eml": "Здравствуйте!\n\nДа, срок 10 декабря подходит. "
    "Методичку пришлю завтра утром.",
    "outlook_en_original_message.eml": "Confirmed, please go ahead with the plan as discussed."
    "\n\nBoris",
    "outlook_ru_subject_only.eml": "Добрый день!\n\nПрикладываю правки к заказу, посмотрите, "
    "пожалуйста, раздел 2.\n\nБорис",
    "outlook_html_only_cp1251.eml": "Здравствуйте!\n\nОплату внесли сегодня, платёжку пришлю "
    "отдельно.\n\nБорис",
    "yandex_ru_koi8r_headers.eml": "Получили ваш файл, спасибо. Правки внесём к пятнице.\n\nОльга",
    "yandex_signature.eml": "Спасибо, получила!",
    "mailru_ru_reply_by_tag.eml": "Добрый день! Работу получил, всё хорошо. Спасибо!",
    "mailru_ru_pishet_headers.eml": "Когда будет готово?",
    "mailru_mobile_signature.eml": "Хорошо, жду.",
    "apple_en_reply_by_tag.eml": "Works for me, thank you!\n\nKate",
    "apple_ru_reply_headers.eml": "Спасибо, посмотрю вечером.",
    "apple_iphone_signature.eml": "Great, thanks!",
}


@pytest.mark.parametrize("name", sorted(SHOWN))
def test_the_manager_reads_the_new_text_only(name: str) -> None:
    incoming = to_incoming(parse_mail((CORPUS / name).read_bytes()), ADDRESSES)
    assert incoming.text == SHOWN[name]


def test_the_original_is_kept_beside_the_trimmed_text() -> None:
    raw = (CORPUS / "gmail_en_reply_by_tag.eml").read_bytes()
    incoming = to_incoming(parse_mail(raw), ADDRESSES)
    assert "Hello Anna, can we agree on December 10" in incoming.raw["original_text"]
    assert incoming.html is not None and "gmail_quote" in incoming.html


def test_a_forward_is_kept_whole() -> None:
    incoming = to_incoming(parse_mail((CORPUS / "gmail_ru_forwarded.eml").read_bytes()), ADDRESSES)
    assert incoming.text is not None
    assert "в главе 2 не хватает расчётов" in incoming.text


def test_a_first_mail_starts_with_its_subject() -> None:
    incoming = to_incoming(parse_mail((CORPUS / "new_lead_en.eml").read_bytes()), ADDRESSES)
    assert incoming.text is not None
    assert incoming.text.startswith("Need a translation of a contract\n\nHello, I need")


def test_attachment_names_in_any_encoding() -> None:
    names = {
        "gmail_en_attachment_russian_name.eml": ("Методичка.pdf", False),  # RFC 2231
        "mailru_attachment_cp1251_name.eml": ("Задание.docx", False),  # RFC 2047, cp1251
        "gmail_inline_image.eml": ("chart.png", True),  # inline, by Content-ID
    }
    for name, (expected, inline) in names.items():
        (attachment,) = parse_mail((CORPUS / name).read_bytes()).attachments
        assert (attachment.name, attachment.inline) == (expected, inline)


def test_machine_mail_is_recognised() -> None:
    bounce = parse_mail((CORPUS / "gmail_bounce_dsn.eml").read_bytes())
    assert bounce.automatic is Automatic.BOUNCE
    assert bounce.bounced == ("no.such.user.42@gmail.com",)
    assert "pult.5f1c9a7e3b2d4c6e8a0b1c2d@desk.example" in bounce.references
    words_only = parse_mail((CORPUS / "mailru_bounce_text.eml").read_bytes())
    assert words_only.bounced == ("deleted.box@mail.ru",)
    for name in ("outlook_automatic_reply.eml", "yandex_autoreply.eml", "newsletter_bulk.eml"):
        assert parse_mail((CORPUS / name).read_bytes()).automatic is Automatic.AUTO_REPLY
    echo = parse_mail((CORPUS / "own_mail_echo.eml").read_bytes())
    assert is_ours(echo, ADDRESSES)


def test_tags_carry_order_side_and_a_token_that_cannot_be_guessed() -> None:
    address = ADDRESSES.reply_address(1042, "executor")
    assert address.startswith("orders+1042e.") and address.endswith("@desk.example")
    tag = ADDRESSES.read(address.upper())
    assert tag is not None and (tag.order_number, tag.side) == (1042, "executor")
    local, _, domain = address.partition("@")
    assert ADDRESSES.read(local[:-1] + ("a" if local[-1] != "a" else "b") + "@" + domain) is None
    assert ADDRESSES.read(address.replace("1042e", "1043e")) is None  # another order
    assert ADDRESSES.read(address.replace("1042e", "1042c")) is None  # the other side
    other_key = ReplyAddresses(DESK, DEFAULT_TAG_PATTERN, b"another installation")
    assert other_key.read(address) is None
    catch_all = ReplyAddresses(DESK, "{tag}@orders.desk.example", SECRET.encode())
    tagged = catch_all.reply_address(7, "client")
    assert tagged.endswith("@orders.desk.example") and catch_all.read(tagged) is not None


def test_display_text_and_html() -> None:
    assert display_text("Да.\n\n> старое\n> ещё") == "Да."
    assert display_text("> только цитата") == "> только цитата"  # nothing new: keep it all
    html = "<html><head><style>p{}</style></head><body><p>Раз</p><p>Два<br>Три</p></body></html>"
    assert html_to_text(html) == "Раз\n\nДва\nТри"


def test_email_is_off_without_an_address_and_on_with_one(tmp_path: Path) -> None:
    settings = load_settings({"PULT_DATA_DIR": str(tmp_path)}, None)
    assert settings.email is None
    env = email_env(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", tmp_path, None, None)
    settings = load_settings(env, None)
    assert settings.email is not None and settings.email.smtp_security == "none"
    shown = dict(settings.describe())
    assert shown["PULT_EMAIL_ADDRESS"] == DESK and shown["PULT_EMAIL_IMAP_PASSWORD"] == "set"
    assert settings.email_secret == SECRET.encode()
    assert "desk-secret" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PULT_EMAIL_ADDRESS", "not an address"),
        ("PULT_EMAIL_IMAP_PORT", "99999"),
        ("PULT_EMAIL_SMTP_SECURITY", "tls-please"),
        ("PULT_EMAIL_TAG_PATTERN", "orders@desk.example"),
        ("PULT_EMAIL_IMAP_SSL", "maybe"),
    ],
)
def test_a_bad_email_setting_names_itself(tmp_path: Path, name: str, value: str) -> None:
    env = email_env(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", tmp_path, None, None)
    with pytest.raises(SettingsError, match=name):
        load_settings({**env, name: value}, None)


def test_a_missing_server_is_named(tmp_path: Path) -> None:
    env = email_env(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", tmp_path, None, None)
    del env["PULT_EMAIL_SMTP_HOST"]
    with pytest.raises(SettingsError, match="PULT_EMAIL_SMTP_HOST"):
        load_settings(env, None)


async def test_the_worker_listens_only_when_email_is_on(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    off = await bootstrap(
        load_settings({"PULT_DATA_DIR": str(tmp_path), "PULT_DATABASE_URL": url}, None)
    )
    on = await bootstrap(load_settings(email_env(url, tmp_path, None, None), None))
    try:
        assert "email_listener" not in jobs_for(off) and "email" not in off.channels
        assert "email_listener" in jobs_for(on) and "email" in on.channels
    finally:
        await off.close()
        await on.close()


def test_a_broken_charset_name_does_not_stop_the_mail() -> None:
    # Found by the fuzz test: a NUL inside the charset name made the codec lookup raise.
    raw = (CORPUS / "yandex_ru_koi8r_headers.eml").read_bytes()
    mail = parse_mail(raw.replace(b"charset=koi8-r", b"charset=\x00oi8-r"))
    assert mail.text.strip()
