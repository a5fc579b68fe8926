"""The e-mail channel's settings (PULT_EMAIL_*): the desk address, the IMAP mailbox it reads,
the SMTP server it sends through, and how order-tagged reply addresses are spelled. Parsed
by `runtime/settings.py`; a bad value raises ValueError with a line naming the variable."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

SmtpSecurity = Literal["ssl", "starttls", "none"]
SMTP_SECURITIES = ("ssl", "starttls", "none")
SMTP_PORTS = {"ssl": 465, "starttls": 587, "none": 25}
# {local} and {domain} are the desk address's parts, {tag} is e.g. "1042c.k3f9a".
DEFAULT_TAG_PATTERN = "{local}+{tag}@{domain}"
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
VARIABLES = (
    "PULT_EMAIL_ADDRESS",
    "PULT_EMAIL_NAME",
    "PULT_EMAIL_IMAP_HOST",
    "PULT_EMAIL_IMAP_PORT",
    "PULT_EMAIL_IMAP_SSL",
    "PULT_EMAIL_IMAP_USER",
    "PULT_EMAIL_IMAP_PASSWORD",
    "PULT_EMAIL_IMAP_FOLDER",
    "PULT_EMAIL_PROCESSED_FOLDER",
    "PULT_EMAIL_SMTP_HOST",
    "PULT_EMAIL_SMTP_SECURITY",
    "PULT_EMAIL_SMTP_PORT",
    "PULT_EMAIL_SMTP_USER",
    "PULT_EMAIL_SMTP_PASSWORD",
    "PULT_EMAIL_TAG_PATTERN",
    "PULT_EMAIL_SECRET",
    "PULT_EMAIL_POLL_SECONDS",
)


@dataclass(frozen=True, slots=True)
class EmailSettings:
    address: str  # the desk's address: From of every mail, where replies come back
    imap_host: str
    imap_user: str
    imap_password: str = field(repr=False)
    smtp_host: str
    smtp_user: str | None
    smtp_password: str | None = field(repr=False)
    name: str | None = None  # the From display name
    imap_port: int = 993
    imap_ssl: bool = True
    imap_folder: str = "INBOX"
    processed_folder: str | None = None  # move taken mail here; None: leave it
    smtp_port: int = 587
    smtp_security: SmtpSecurity = "starttls"
    tag_pattern: str = DEFAULT_TAG_PATTERN
    secret: str | None = field(default=None, repr=False)  # None: derived from the secret key
    poll_seconds: float = 60.0  # for servers without IDLE
    timeout_seconds: float = 30.0

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2].lower()


def describe(email: EmailSettings | None) -> list[tuple[str, str]]:
    """(variable, shown value) for `pult check`: every PULT_EMAIL_* variable, no secret."""
    if email is None:
        return [(name, "-") for name in VARIABLES]
    shown = {
        "PULT_EMAIL_ADDRESS": email.address,
        "PULT_EMAIL_NAME": email.name or "-",
        "PULT_EMAIL_IMAP_HOST": email.imap_host,
        "PULT_EMAIL_IMAP_PORT": str(email.imap_port),
        "PULT_EMAIL_IMAP_SSL": "true" if email.imap_ssl else "false",
        "PULT_EMAIL_IMAP_USER": email.imap_user,
        "PULT_EMAIL_IMAP_PASSWORD": "set",
        "PULT_EMAIL_IMAP_FOLDER": email.imap_folder,
        "PULT_EMAIL_PROCESSED_FOLDER": email.processed_folder or "-",
        "PULT_EMAIL_SMTP_HOST": email.smtp_host,
        "PULT_EMAIL_SMTP_SECURITY": email.smtp_security,
        "PULT_EMAIL_SMTP_PORT": str(email.smtp_port),
        "PULT_EMAIL_SMTP_USER": email.smtp_user or "-",
        "PULT_EMAIL_SMTP_PASSWORD": "set" if email.smtp_password else "-",
        "PULT_EMAIL_TAG_PATTERN": email.tag_pattern,
        "PULT_EMAIL_SECRET": "set" if email.secret else "derived from PULT_SECRET_KEY",
        "PULT_EMAIL_POLL_SECONDS": f"{email.poll_seconds:g}",
    }
    return [(name, shown[name]) for name in VARIABLES]


def load_email_settings(env: Mapping[str, str]) -> EmailSettings | None:
    """The e-mail settings, or None when PULT_EMAIL_ADDRESS is not set (e-mail is off)."""
    address = env.get("PULT_EMAIL_ADDRESS")
    if address is None:
        return None
    if not _ADDRESS.fullmatch(address):
        raise ValueError(f"PULT_EMAIL_ADDRESS: expected an e-mail address, got {address!r}")
    imap_ssl = _flag(env, "PULT_EMAIL_IMAP_SSL", True)
    security = env.get("PULT_EMAIL_SMTP_SECURITY", "starttls").lower()
    if security not in SMTP_SECURITIES:
        raise ValueError(
            f"PULT_EMAIL_SMTP_SECURITY: expected ssl, starttls or none, got {security!r}"
        )
    imap_user = env.get("PULT_EMAIL_IMAP_USER", address)
    imap_password = _required(env, "PULT_EMAIL_IMAP_PASSWORD")
    pattern = env.get("PULT_EMAIL_TAG_PATTERN", DEFAULT_TAG_PATTERN)
    if "{tag}" not in pattern or not _ADDRESS.fullmatch(pattern.format(
        local="x", tag="1c.abcde", domain="example.com"
    )):  # fmt: skip
        raise ValueError(
            "PULT_EMAIL_TAG_PATTERN: expected an address with {tag}, e.g. {local}+{tag}@{domain}"
            f" or {{tag}}@orders.example.com, got {pattern!r}"
        )
    return EmailSettings(
        address=address,
        name=env.get("PULT_EMAIL_NAME"),
        imap_host=_required(env, "PULT_EMAIL_IMAP_HOST"),
        imap_port=_port(env, "PULT_EMAIL_IMAP_PORT", 993 if imap_ssl else 143),
        imap_ssl=imap_ssl,
        imap_user=imap_user,
        imap_password=imap_password,
        imap_folder=env.get("PULT_EMAIL_IMAP_FOLDER", "INBOX"),
        processed_folder=env.get("PULT_EMAIL_PROCESSED_FOLDER"),
        smtp_host=_required(env, "PULT_EMAIL_SMTP_HOST"),
        smtp_port=_port(env, "PULT_EMAIL_SMTP_PORT", SMTP_PORTS[security]),
        smtp_security=security,  # type: ignore[arg-type]
        smtp_user=env.get("PULT_EMAIL_SMTP_USER", imap_user),
        smtp_password=env.get("PULT_EMAIL_SMTP_PASSWORD", imap_password),
        tag_pattern=pattern,
        secret=env.get("PULT_EMAIL_SECRET"),
        poll_seconds=_seconds(env, "PULT_EMAIL_POLL_SECONDS", 60.0),
    )


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name)
    if value is None:
        raise ValueError(f"{name}: required when PULT_EMAIL_ADDRESS is set")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name)
    if value is None:
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}: expected true or false, got {value!r}")


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    if value is None:
        return default
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise ValueError(f"{name}: expected a port number 1-65535, got {value!r}")
    return int(value)


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    value = env.get(name)
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 1 <= seconds <= 3600:
        raise ValueError(f"{name}: expected seconds 1-3600, got {value!r}")
    return seconds
