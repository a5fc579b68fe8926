"""Settings: defaults, the .env file, one-line errors naming the variable, the secret key."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from runtime.settings import Settings, SettingsError, load_settings, read_env_file


def _load(tmp_path: Path, **env: str) -> Settings:
    return load_settings({"PULT_DATA_DIR": str(tmp_path / "var"), **env}, env_file=None)


def test_defaults_give_an_embedded_installation(tmp_path: Path) -> None:
    settings = _load(tmp_path)

    data_dir = tmp_path / "var"
    assert settings.data_dir == data_dir
    assert settings.database_url == f"sqlite+aiosqlite:///{data_dir}/pult.db"
    assert settings.redis_url is None
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)
    assert settings.public_url is None
    assert settings.timezone == "Europe/Moscow"
    assert settings.locale == "ru"
    assert settings.owner_email == "owner@pult.local"
    assert settings.log_level == "INFO"
    assert (settings.max_file_mb, settings.max_file_size) == (50, 50 * 1024 * 1024)
    assert settings.secret_key_source == "generated"
    assert settings.base_url == "http://127.0.0.1:8080/"


def test_relative_data_dir_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    settings = load_settings({}, env_file=None)

    assert settings.data_dir == tmp_path / "var"
    assert settings.data_dir.is_dir()


def test_env_file_is_read_and_the_real_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# a comment line\n"
        "\n"
        "PULT_HTTP_PORT=9001\n"
        "export PULT_LOCALE='en'\n"
        'PULT_TIMEZONE="Asia/Yekaterinburg"\n'
        "PULT_LOG_LEVEL=debug # inline comment\n"
        "OTHER_TOOL=ignored\n",
        encoding="utf-8",
    )

    settings = load_settings(
        {"PULT_DATA_DIR": str(tmp_path / "var"), "PULT_HTTP_PORT": "9002"}, env_file=env_file
    )

    assert settings.http_port == 9002
    assert settings.locale == "en"
    assert settings.timezone == "Asia/Yekaterinburg"
    assert settings.log_level == "DEBUG"


def test_a_missing_env_file_is_no_error(tmp_path: Path) -> None:
    settings = load_settings(
        {"PULT_DATA_DIR": str(tmp_path / "var")}, env_file=tmp_path / "absent.env"
    )

    assert settings.http_port == 8080


def test_a_malformed_env_file_line_is_named(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PULT_HTTP_PORT=9001\nthis is not a setting\n", encoding="utf-8")

    with pytest.raises(SettingsError, match=r"line 2: expected KEY=VALUE"):
        read_env_file(env_file)


def test_empty_values_count_as_unset(tmp_path: Path) -> None:
    settings = _load(tmp_path, PULT_REDIS_URL="", PULT_HTTP_PORT="")

    assert settings.redis_url is None
    assert settings.http_port == 8080


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("PULT_HTTP_PORT", "abc", "PULT_HTTP_PORT: expected a port number 1-65535, got 'abc'"),
        ("PULT_HTTP_PORT", "0", "PULT_HTTP_PORT: expected a port number 1-65535, got '0'"),
        ("PULT_HTTP_PORT", "70000", "expected a port number 1-65535, got '70000'"),
        ("PULT_DATABASE_URL", "mysql://root@localhost/pult", "got mysql://"),
        ("PULT_DATABASE_URL", "sqlite:///plain.db", "got sqlite://"),
        ("PULT_DATABASE_URL", "not a url", "not a database URL"),
        ("PULT_REDIS_URL", "http://localhost:6379", "expected redis://"),
        ("PULT_PUBLIC_URL", "desk.example.com", "expected http(s)://"),
        ("PULT_PUBLIC_URL", "ftp://desk.example.com", "expected http(s)://"),
        ("PULT_SECRET_KEY", "short", "expected at least 32 characters, got 5"),
        ("PULT_TIMEZONE", "Mars/Olympus", "expected an IANA time zone"),
        ("PULT_LOCALE", "de", "expected one of ru, en, got 'de'"),
        ("PULT_OWNER_EMAIL", "owner-at-example", "expected an e-mail address"),
        ("PULT_LOG_LEVEL", "LOUD", "expected one of DEBUG"),
        ("PULT_MAX_FILE_MB", "0", "PULT_MAX_FILE_MB: expected a whole number of megabytes"),
        ("PULT_MAX_FILE_MB", "2.5", "expected a whole number of megabytes 1-10240, got '2.5'"),
        ("PULT_TELEGRAM_TOKEN", "not-a-token", "expected the token @BotFather gave"),
        ("PULT_TELEGRAM_API_BASE", "127.0.0.1:8081", "expected http(s)://HOST[:PORT]"),
        ("PULT_PAYMENTS", "paypal", "expected one of manual"),
        ("PULT_TELEGRAM_WEBHOOK_SECRET", "with spaces", "expected 1-256 characters"),
        ("PULT_TELEGRAM_WEBHOOK_SECRET", "x" * 257, "expected 1-256 characters"),
    ],
)
def test_a_bad_value_gives_one_line_naming_its_variable(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    with pytest.raises(SettingsError) as error:
        _load(tmp_path, **{variable: value})

    message = str(error.value)
    assert message.startswith(f"{variable}: ")
    assert expected in message
    assert "\n" not in message


def test_the_secret_key_is_never_echoed_in_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as error:
        _load(tmp_path, PULT_SECRET_KEY="hunter2-hunter2")

    assert "hunter2" not in str(error.value)


def test_no_secret_key_file_is_written_for_a_bad_setting(tmp_path: Path) -> None:
    with pytest.raises(SettingsError):
        _load(tmp_path, PULT_HTTP_PORT="abc")

    assert not (tmp_path / "var" / "secret_key").exists()


def test_the_secret_key_is_generated_once_private_and_reused(tmp_path: Path) -> None:
    first = _load(tmp_path)
    key_file = tmp_path / "var" / "secret_key"

    assert first.secret_key_source == "generated"
    assert len(first.secret_key) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text(encoding="ascii").strip() == first.secret_key
    assert _load(tmp_path).secret_key == first.secret_key
    assert sorted(path.name for path in key_file.parent.iterdir()) == ["secret_key"]


def test_a_set_secret_key_is_used_and_nothing_is_written(tmp_path: Path) -> None:
    key = "k" * 40

    settings = _load(tmp_path, PULT_SECRET_KEY=key)

    assert (settings.secret_key, settings.secret_key_source) == (key, "set")
    assert not (tmp_path / "var" / "secret_key").exists()
    assert key not in repr(settings)


@pytest.mark.parametrize(
    "url",
    [
        "postgres://pult:pw@db.internal:5432/pult",
        "postgresql://pult:pw@db.internal:5432/pult",
        "postgresql+asyncpg://pult:pw@db.internal:5432/pult",
    ],
)
def test_postgres_urls_are_rewritten_to_asyncpg(tmp_path: Path, url: str) -> None:
    settings = _load(tmp_path, PULT_DATABASE_URL=url)

    assert settings.database_url == "postgresql+asyncpg://pult:pw@db.internal:5432/pult"


def test_public_url_decides_the_base_url(tmp_path: Path) -> None:
    settings = _load(tmp_path, PULT_PUBLIC_URL="https://desk.example.com/")

    assert settings.base_url == "https://desk.example.com/"


def test_describe_shows_no_secret(tmp_path: Path) -> None:
    settings = _load(
        tmp_path,
        PULT_SECRET_KEY="s" * 40,
        PULT_DATABASE_URL="postgresql://pult:dbpassword@db/pult",
        PULT_REDIS_URL="redis://:redispassword@cache:6379/0",
    )

    shown = dict(settings.describe())

    assert shown["PULT_SECRET_KEY"] == "set"
    assert "dbpassword" not in shown["PULT_DATABASE_URL"]
    assert "redispassword" not in shown["PULT_REDIS_URL"]
    assert "s" * 40 not in repr(shown)
    assert len(shown) == 17 + 3 + 17  # the general settings, the outbox's, the e-mail channel's


def test_the_env_example_lists_every_variable_and_loads(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "deploy" / ".env.example"
    listed = set(read_env_file(example))

    settings = load_settings({"PULT_DATA_DIR": str(tmp_path / "var")}, env_file=example)

    assert listed == {name for name, _ in settings.describe()}
    assert settings.http_port == 8080


TOKEN = "123456789:AAE-secret_part_of_the_token_0123456"


def test_telegram_is_off_without_a_token(tmp_path: Path) -> None:
    settings = _load(tmp_path, PULT_PUBLIC_URL="https://desk.example.com")

    assert settings.telegram_mode == "off"
    assert dict(settings.describe())["PULT_TELEGRAM_TOKEN"] == "-"


def test_a_token_without_a_public_url_means_long_polling(tmp_path: Path) -> None:
    settings = _load(tmp_path, PULT_TELEGRAM_TOKEN=TOKEN)

    assert settings.telegram_mode == "polling"
    assert TOKEN not in repr(settings)
    assert TOKEN not in repr(settings.describe())
    assert dict(settings.describe())["PULT_TELEGRAM_TOKEN"] == "set"


def test_a_token_with_a_public_url_means_webhook(tmp_path: Path) -> None:
    settings = _load(tmp_path, PULT_TELEGRAM_TOKEN=TOKEN, PULT_PUBLIC_URL="https://d.example/")

    assert settings.telegram_mode == "webhook"


def test_the_token_is_never_echoed_in_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as error:
        _load(tmp_path, PULT_TELEGRAM_TOKEN="123456789:has spaces-so-it-is-wrong")

    assert "has spaces" not in str(error.value)


def test_telegram_refuses_a_plain_http_webhook_address(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as error:
        _load(tmp_path, PULT_TELEGRAM_TOKEN=TOKEN, PULT_PUBLIC_URL="http://desk.example.com")

    assert str(error.value).startswith("PULT_PUBLIC_URL: Telegram delivers webhooks to https://")


def test_a_local_bot_api_server_may_deliver_to_plain_http(tmp_path: Path) -> None:
    settings = _load(
        tmp_path,
        PULT_TELEGRAM_TOKEN=TOKEN,
        PULT_PUBLIC_URL="http://127.0.0.1:8080",
        PULT_TELEGRAM_API_BASE="http://127.0.0.1:8081/",
    )

    assert (settings.telegram_mode, settings.telegram_api_base) == (
        "webhook",
        "http://127.0.0.1:8081",
    )


def test_the_webhook_secret_is_derived_from_the_secret_key_when_unset(tmp_path: Path) -> None:
    first = _load(tmp_path, PULT_SECRET_KEY="a" * 40)
    again = _load(tmp_path, PULT_SECRET_KEY="a" * 40)
    other = _load(tmp_path, PULT_SECRET_KEY="b" * 40)

    assert first.webhook_secret == again.webhook_secret != other.webhook_secret
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,256}", first.webhook_secret)
    assert "a" * 40 not in first.webhook_secret
    shown = dict(first.describe())["PULT_TELEGRAM_WEBHOOK_SECRET"]
    assert shown == "derived from PULT_SECRET_KEY"


def test_a_set_webhook_secret_is_used_and_not_shown(tmp_path: Path) -> None:
    settings = _load(tmp_path, PULT_TELEGRAM_WEBHOOK_SECRET="Our_own-secret42")

    assert settings.webhook_secret == "Our_own-secret42"
    assert "Our_own-secret42" not in repr(settings)
    assert dict(settings.describe())["PULT_TELEGRAM_WEBHOOK_SECRET"] == "set"


def test_the_outbox_timings_are_read_and_bad_ones_refused(tmp_path: Path) -> None:
    settings = _load(tmp_path, PULT_OUTBOX_GIVE_UP_AFTER="3600", PULT_OUTBOX_LEASE_SECONDS="5")
    assert (settings.outbox_give_up_after, settings.outbox_lease_seconds) == (3600.0, 5.0)
    assert settings.outbox_retry_ceiling == 600.0
    for bad in ("0", "-5", "soon", "nan", "1e12"):
        with pytest.raises(SettingsError, match="PULT_OUTBOX_RETRY_CEILING"):
            _load(tmp_path, PULT_OUTBOX_RETRY_CEILING=bad)
