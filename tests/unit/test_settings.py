"""Settings: defaults, the .env file, one-line errors naming the variable, the secret key."""

from __future__ import annotations

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
    assert len(shown) == 12


def test_the_env_example_lists_every_variable_and_loads(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "deploy" / ".env.example"
    listed = set(read_env_file(example))

    settings = load_settings({"PULT_DATA_DIR": str(tmp_path / "var")}, env_file=example)

    assert listed == {name for name, _ in settings.describe()}
    assert settings.http_port == 8080
