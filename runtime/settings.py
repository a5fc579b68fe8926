"""Process settings: `PULT_*` environment variables, optionally from a `.env` file, checked
once at start-up so that a bad value stops the process with one clear line."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bots.email.config import EmailSettings, load_email_settings
from bots.email.config import describe as describe_email
from core.i18n import SUPPORTED_LOCALES
from core.staff import InvalidEmailError, normalize_email

PREFIX = "PULT_"
DEFAULT_ENV_FILE = Path(".env")
SECRET_KEY_FILE = "secret_key"
MIN_SECRET_KEY_LENGTH = 32
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_MAX_FILE_MB = 50

# Drivers Pult runs on; the plain PostgreSQL spellings that hosting panels hand out are
# rewritten to the async driver.
_DATABASE_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg")
_POSTGRES_ALIASES = ("postgresql", "postgres")

# What @BotFather hands out: the bot's numeric id, a colon, then the secret part.
_TELEGRAM_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")
# What Telegram accepts as a webhook secret token.
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
WEBHOOK_SECRET_PURPOSE = b"pult telegram webhook secret"
EMAIL_SECRET_PURPOSE = b"pult e-mail reply address tokens"
DEVICE_COOKIE_PURPOSE = b"pult staff device cookies"
# Pult listens on loopback by default, so what connects from there is the local reverse
# proxy (deploy/nginx.conf): its X-Forwarded-For is believed, no one else's.
DEFAULT_TRUSTED_PROXIES = "127.0.0.1/32,::1/128"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

PAYMENTS = ("manual", "fake")

SecretSource = Literal["set", "generated"]
TelegramMode = Literal["off", "polling", "webhook"]


class SettingsError(Exception):
    """A bad or missing setting; the message is one line that names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    redis_url: str | None
    data_dir: Path
    http_host: str
    http_port: int
    public_url: str | None
    secret_key: str = field(repr=False)
    secret_key_source: SecretSource
    timezone: str
    locale: str
    owner_email: str
    log_level: str
    max_file_mb: int = DEFAULT_MAX_FILE_MB
    telegram_token: str | None = field(default=None, repr=False)
    telegram_api_base: str | None = None
    # As set; None means "derived from the secret key" (see `webhook_secret`).
    telegram_webhook_secret: str | None = field(default=None, repr=False)
    # How clients pay: "manual" (a manager sends details and records the money) or "fake"
    # (a pretend gateway page for demos and tests: anyone with the link can "pay").
    payments: str = "manual"
    # The e-mail channel (PULT_EMAIL_*); None: e-mail is off.
    email: EmailSettings | None = None
    # Outbound delivery (docs/outbox.md), in seconds: a message that keeps failing with a
    # retryable error is given up on (and shown to the manager) this long after it was
    # queued; retries back off up to the ceiling; a worker's claim lasts a lease, renewed
    # while it sends, so a dead worker's claims come back within one.
    outbox_give_up_after: float = 86_400.0
    outbox_retry_ceiling: float = 600.0
    outbox_lease_seconds: float = 30.0
    # Reverse proxies whose X-Forwarded-For names the client (PULT_TRUSTED_PROXIES).
    trusted_proxies: tuple[Network, ...] = ()

    @property
    def telegram_mode(self) -> TelegramMode:
        """How Telegram updates come in: not at all without a token, by webhook when the
        web app has a public address, else by long polling in the worker."""
        if self.telegram_token is None:
            return "off"
        return "webhook" if self.public_url else "polling"

    @property
    def webhook_secret(self) -> str:
        """PULT_TELEGRAM_WEBHOOK_SECRET, else one derived from the secret key: stable across
        restarts and the same in every web process, without one more thing to configure."""
        if self.telegram_webhook_secret is not None:
            return self.telegram_webhook_secret
        digest = hmac.new(self.secret_key.encode(), WEBHOOK_SECRET_PURPOSE, hashlib.sha256)
        return digest.hexdigest()

    @property
    def email_secret(self) -> bytes:
        """The key of the tokens in order-tagged reply addresses: PULT_EMAIL_SECRET, else
        derived from the secret key (so tags stay valid across restarts)."""
        if self.email is not None and self.email.secret:
            return self.email.secret.encode()
        return hmac.new(self.secret_key.encode(), EMAIL_SECRET_PURPOSE, hashlib.sha256).digest()

    @property
    def device_cookie_key(self) -> bytes:
        """The key that signs the panel's device cookies (browsers that signed in before)."""
        return hmac.new(self.secret_key.encode(), DEVICE_COOKIE_PURPOSE, hashlib.sha256).digest()

    @property
    def max_file_size(self) -> int:
        """PULT_MAX_FILE_MB in bytes: the largest file accepted from any channel."""
        return self.max_file_mb * 1024 * 1024

    @property
    def base_url(self) -> str:
        """Where people reach the web app: PULT_PUBLIC_URL, else the listening address."""
        if self.public_url:
            return self.public_url.rstrip("/") + "/"
        host = f"[{self.http_host}]" if ":" in self.http_host else self.http_host
        return f"http://{host}:{self.http_port}/"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def describe(self) -> list[tuple[str, str]]:
        """(variable, shown value) pairs for `pult check`: no secret is ever shown."""
        return [
            ("PULT_DATABASE_URL", make_url(self.database_url).render_as_string()),
            ("PULT_REDIS_URL", _hide_password(self.redis_url) or "-"),
            ("PULT_DATA_DIR", str(self.data_dir)),
            ("PULT_HTTP_HOST", self.http_host),
            ("PULT_HTTP_PORT", str(self.http_port)),
            ("PULT_PUBLIC_URL", self.public_url or "-"),
            ("PULT_SECRET_KEY", self.secret_key_source),
            ("PULT_TIMEZONE", self.timezone),
            ("PULT_LOCALE", self.locale),
            ("PULT_OWNER_EMAIL", self.owner_email),
            ("PULT_LOG_LEVEL", self.log_level),
            ("PULT_MAX_FILE_MB", str(self.max_file_mb)),
            ("PULT_OUTBOX_GIVE_UP_AFTER", f"{self.outbox_give_up_after:g}"),
            ("PULT_OUTBOX_RETRY_CEILING", f"{self.outbox_retry_ceiling:g}"),
            ("PULT_OUTBOX_LEASE_SECONDS", f"{self.outbox_lease_seconds:g}"),
            ("PULT_TELEGRAM_TOKEN", "set" if self.telegram_token else "-"),
            ("PULT_PAYMENTS", self.payments),
            ("PULT_TRUSTED_PROXIES", ",".join(map(str, self.trusted_proxies)) or "-"),
            ("PULT_TELEGRAM_API_BASE", self.telegram_api_base or "-"),
            (
                "PULT_TELEGRAM_WEBHOOK_SECRET",
                "set" if self.telegram_webhook_secret else "derived from PULT_SECRET_KEY",
            ),
            *describe_email(self.email),
        ]


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = DEFAULT_ENV_FILE
) -> Settings:
    """Read and check every setting. The real environment wins over the .env file.

    Side effect: creates the data directory and, when PULT_SECRET_KEY is unset, the
    generated secret key file inside it."""
    values = dict(read_env_file(env_file)) if env_file is not None else {}
    values.update(os.environ if environ is None else environ)
    env = {key: value.strip() for key, value in values.items() if key.startswith(PREFIX)}
    env = {key: value for key, value in env.items() if value}

    data_dir = Path(env.get("PULT_DATA_DIR", "./var")).expanduser().absolute()
    default_database = f"sqlite+aiosqlite:///{data_dir / 'pult.db'}"
    database_url = _database_url(env.get("PULT_DATABASE_URL", default_database))
    redis_url = _optional(env, "PULT_REDIS_URL", _redis_url)
    http_port = _port(env.get("PULT_HTTP_PORT", "8080"))
    public_url = _optional(env, "PULT_PUBLIC_URL", _public_url)
    timezone = _timezone(env.get("PULT_TIMEZONE", "Europe/Moscow"))
    locale = _choice("PULT_LOCALE", env.get("PULT_LOCALE", "ru").lower(), SUPPORTED_LOCALES)
    owner_email = _email(env.get("PULT_OWNER_EMAIL", "owner@pult.local"))
    log_level = _choice("PULT_LOG_LEVEL", env.get("PULT_LOG_LEVEL", "INFO").upper(), LOG_LEVELS)
    payments = _choice("PULT_PAYMENTS", env.get("PULT_PAYMENTS", "manual").lower(), PAYMENTS)
    max_file_mb = _max_file_mb(env.get("PULT_MAX_FILE_MB", str(DEFAULT_MAX_FILE_MB)))
    give_up_after = _seconds(env, "PULT_OUTBOX_GIVE_UP_AFTER", 86_400.0)
    retry_ceiling = _seconds(env, "PULT_OUTBOX_RETRY_CEILING", 600.0)
    lease_seconds = _seconds(env, "PULT_OUTBOX_LEASE_SECONDS", 30.0)
    trusted_proxies = _networks(
        "PULT_TRUSTED_PROXIES", env.get("PULT_TRUSTED_PROXIES", DEFAULT_TRUSTED_PROXIES)
    )
    telegram_token = _optional(env, "PULT_TELEGRAM_TOKEN", _telegram_token)
    telegram_api_base = _optional(env, "PULT_TELEGRAM_API_BASE", _telegram_api_base)
    webhook_secret = _optional(env, "PULT_TELEGRAM_WEBHOOK_SECRET", _webhook_secret)
    if telegram_token and public_url and telegram_api_base is None:
        _check_webhook_url(public_url)
    try:
        email = load_email_settings(env)
    except ValueError as error:
        raise SettingsError(str(error)) from None
    # Touch the disk only once every other value is known to be good.
    _make_data_dir(data_dir)
    secret_key, secret_source = _secret_key(env.get("PULT_SECRET_KEY"), data_dir)
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        data_dir=data_dir,
        http_host=env.get("PULT_HTTP_HOST", "127.0.0.1"),
        http_port=http_port,
        public_url=public_url,
        secret_key=secret_key,
        secret_key_source=secret_source,
        timezone=timezone,
        locale=locale,
        owner_email=owner_email,
        log_level=log_level,
        max_file_mb=max_file_mb,
        telegram_token=telegram_token,
        telegram_api_base=telegram_api_base,
        telegram_webhook_secret=webhook_secret,
        payments=payments,
        email=email,
        outbox_give_up_after=give_up_after,
        outbox_retry_ceiling=retry_ceiling,
        outbox_lease_seconds=lease_seconds,
        trusted_proxies=trusted_proxies,
    )


def read_env_file(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines; `#` starts a comment line, `export ` is allowed, values may be
    quoted with ' or ". A missing file is an empty one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read ({exc.strerror})") from None
    result: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        key = key.strip()
        if not sep or not key.replace("_", "").isalnum():
            raise SettingsError(f"{path} line {number}: expected KEY=VALUE, got {raw!r}")
        result[key] = _unquote(value.strip())
    return result


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    # An unquoted value ends at " #": the rest is a comment.
    return value.split(" #", 1)[0].rstrip()


def _optional(env: Mapping[str, str], name: str, check: Callable[[str], str]) -> str | None:
    value = env.get(name)
    return None if value is None else check(value)


def _make_data_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingsError(
            f"PULT_DATA_DIR: cannot create {str(path)!r} ({exc.strerror})"
        ) from None


def _secret_key(value: str | None, data_dir: Path) -> tuple[str, SecretSource]:
    if value is not None:
        if len(value) < MIN_SECRET_KEY_LENGTH:
            raise SettingsError(
                f"PULT_SECRET_KEY: expected at least {MIN_SECRET_KEY_LENGTH} characters, "
                f"got {len(value)}"
            )
        return value, "set"
    return _stored_secret_key(data_dir / SECRET_KEY_FILE), "generated"


def _stored_secret_key(path: Path) -> str:
    """Generate the key on the first start and reuse it after: sessions and signed links
    survive restarts, and no installation shares a hard-coded default."""
    try:
        if not path.exists():
            _write_secret_once(path, secrets.token_urlsafe(48))
        key = path.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise SettingsError(
            f"PULT_SECRET_KEY: cannot keep {str(path)!r} ({exc.strerror})"
        ) from None
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise SettingsError(f"PULT_SECRET_KEY: {str(path)!r} holds a key that is too short")
    return key


def _write_secret_once(path: Path, key: str) -> None:
    # Written to a private temporary file, then linked into place: a web and a worker
    # process starting together never see a half-written key, and the first one wins.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(key + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            logging.getLogger(__name__).info("secret key created by another process")
    finally:
        temporary.unlink(missing_ok=True)


def _database_url(value: str) -> str:
    try:
        url = make_url(value)
    except ArgumentError:
        raise SettingsError(f"PULT_DATABASE_URL: not a database URL: {value!r}") from None
    if url.drivername in _POSTGRES_ALIASES:
        url = url.set(drivername="postgresql+asyncpg")
    if url.drivername not in _DATABASE_SCHEMES:
        raise SettingsError(
            "PULT_DATABASE_URL: expected sqlite+aiosqlite:///PATH or "
            f"postgresql+asyncpg://USER@HOST/DB, got {url.drivername}://..."
        )
    return url.render_as_string(hide_password=False)


def _redis_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("redis", "rediss", "unix") or not (parts.netloc or parts.path):
        raise SettingsError(
            f"PULT_REDIS_URL: expected redis://HOST:PORT/DB, got {_hide_password(value)!r}"
        )
    return value


def _public_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"PULT_PUBLIC_URL: expected http(s)://HOST[/PATH], got {value!r}")
    return value.rstrip("/")


def _telegram_token(value: str) -> str:
    # The message never repeats the value: it is a secret.
    if not _TELEGRAM_TOKEN.fullmatch(value):
        raise SettingsError(
            "PULT_TELEGRAM_TOKEN: expected the token @BotFather gave, like 123456789:AAE..."
        )
    return value


def _telegram_api_base(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(
            f"PULT_TELEGRAM_API_BASE: expected http(s)://HOST[:PORT] of a Bot API server, "
            f"got {value!r}"
        )
    return value.rstrip("/")


def _webhook_secret(value: str) -> str:
    if not _WEBHOOK_SECRET.fullmatch(value):
        raise SettingsError(
            "PULT_TELEGRAM_WEBHOOK_SECRET: expected 1-256 characters A-Z a-z 0-9 _ -"
        )
    return value


def _check_webhook_url(public_url: str) -> None:
    # api.telegram.org delivers webhooks over HTTPS only (a local Bot API server, named in
    # PULT_TELEGRAM_API_BASE, also takes http://).
    if urlsplit(public_url).scheme != "https":
        raise SettingsError(
            "PULT_PUBLIC_URL: Telegram delivers webhooks to https:// addresses only, "
            f"got {public_url!r} (unset it to use long polling)"
        )


def _port(value: str) -> int:
    port = int(value) if value.isdigit() else 0
    if not 1 <= port <= 65535:
        raise SettingsError(f"PULT_HTTP_PORT: expected a port number 1-65535, got {value!r}")
    return port


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    value = env.get(name)
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0.1 <= seconds <= 31_536_000:  # NaN fails too
        raise SettingsError(f"{name}: expected a number of seconds 0.1-31536000, got {value!r}")
    return seconds


def _max_file_mb(value: str) -> int:
    size = int(value) if value.isdigit() else 0
    if not 1 <= size <= 10_240:
        raise SettingsError(
            f"PULT_MAX_FILE_MB: expected a whole number of megabytes 1-10240, got {value!r}"
        )
    return size


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"PULT_TIMEZONE: expected an IANA time zone such as Europe/Moscow, got {value!r}"
        ) from None
    return value


def _networks(name: str, value: str) -> tuple[Network, ...]:
    """Comma-separated addresses or networks (`10.0.0.0/8`); "none" trusts no proxy."""
    if value.lower() == "none":
        return ()
    networks = []
    for part in value.split(","):
        try:
            networks.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            raise SettingsError(
                f"{name}: {part.strip()!r} is not an IP address or network (like 10.0.0.0/8)"
            ) from None
    return tuple(networks)


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise SettingsError(f"{name}: expected one of {', '.join(allowed)}, got {value!r}")
    return value


def _email(value: str) -> str:
    try:
        return normalize_email(value)
    except InvalidEmailError:
        raise SettingsError(
            f"PULT_OWNER_EMAIL: expected an e-mail address, got {value!r}"
        ) from None


def _hide_password(url: str | None) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
