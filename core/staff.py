"""Staff accounts: argon2id password hashing, readable one-time passwords, creating users and
the first owner of a fresh installation."""

from __future__ import annotations

import asyncio
import re
import secrets
from typing import ClassVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.common_passwords import COMMON_PASSWORDS
from core.i18n import N_, gettext
from core.models import StaffRole, User

MIN_PASSWORD_LENGTH = 10
MAX_EMAIL_LENGTH = 254

# No 0/O, 1/l/I, 5/S, 2/Z: a password read aloud or copied from a terminal by eye survives.
_PASSWORD_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRTUVWXY346789"
_PASSWORD_GROUPS = 3
_PASSWORD_GROUP_LENGTH = 5

# Deliberately loose: one @, no spaces, a dotted domain. Real validation is a delivered
# message; this only catches typos such as a missing @ or a pasted name.
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")

# The RFC 9106 low-memory profile (argon2id, t=3, m=64 MiB, p=4): argon2-cffi's default.
PRODUCTION_HASHER = PasswordHasher()
_hasher = PRODUCTION_HASHER


class StaffError(Exception):
    """A mistake a person can make when managing staff accounts; the message is meant to be
    shown to them, in their language (`localized`)."""

    msgid: ClassVar[str] = N_("Invalid staff account data")

    def __init__(self, **params: object) -> None:
        self.params = params
        super().__init__(self.localized("en"))

    def localized(self, locale: str | None) -> str:
        return gettext(self.msgid, locale).format(**self.params)


class InvalidEmailError(StaffError):
    msgid = N_("Not a valid e-mail address: '{email}'")


class DuplicateEmailError(StaffError):
    msgid = N_("A staff account with the e-mail {email} already exists")


class EmptyNameError(StaffError):
    msgid = N_("The name of a staff member must not be empty")


class WeakPasswordError(StaffError):
    msgid = N_("The password must be at least {minimum} characters long")


class CommonPasswordError(StaffError):
    msgid = N_("This password is among the first that guessers try; choose another one")


class UnchangedPasswordError(StaffError):
    msgid = N_("The new password must differ from the current (temporary) one")


class UnknownRoleError(StaffError):
    msgid = N_("Unknown staff role '{role}': use owner, manager or operator")


class LastOwnerError(StaffError):
    msgid = N_("This is the last active owner: make someone else an owner first")


def use_password_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Hash and verify with `hasher` from now on; returns the one used before.

    Only the test suite calls this (tests/conftest.py, with tiny argon2 parameters, so the
    hundreds of staff accounts the tests make do not each cost a second of CPU); nothing in
    the settings or the environment reaches it, so production always hashes with
    PRODUCTION_HASHER. Hashes carry their own parameters: any hasher verifies any hash."""
    global _hasher
    previous, _hasher = _hasher, hasher
    return previous


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; a malformed or foreign hash is a mismatch, not a crash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's; rehash at login."""
    return _hasher.check_needs_rehash(password_hash)


def check_new_password(password: str, *, current: str | None = None) -> None:
    """Raise a StaffError when `password` may not become someone's password: too short,
    one of the common ones (or a run of one or two characters), or the current one, which
    for a forced change is the one-time password someone else has seen."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(minimum=MIN_PASSWORD_LENGTH)
    if password.lower() in COMMON_PASSWORDS or len(set(password)) <= 2:
        raise CommonPasswordError()
    if current is not None and password == current:
        raise UnchangedPasswordError()


def generate_password() -> str:
    """A random password like `k3fTq-8wNxa-Ubr7e`: about 85 bits, easy to read and type."""
    groups = (
        "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(_PASSWORD_GROUP_LENGTH))
        for _ in range(_PASSWORD_GROUPS)
    )
    return "-".join(groups)


def normalize_email(email: str) -> str:
    """Lower-cased, trimmed address; raises InvalidEmailError when it cannot be one."""
    address = email.strip().lower()
    if len(address) > MAX_EMAIL_LENGTH or not _EMAIL_RE.match(address):
        raise InvalidEmailError(email=email)
    return address


async def create_user(
    session: AsyncSession,
    email: str,
    name: str,
    role: StaffRole | str,
    password: str | None = None,
) -> tuple[User, str | None]:
    """Add a staff account to the session (the caller commits).

    Without a password one is generated and returned once; the user must change it at the
    first login. With a password, None is returned in its place."""
    address = normalize_email(email)
    display_name = name.strip()
    if not display_name:
        raise EmptyNameError()
    staff_role = _parse_role(role)
    if password is not None:
        check_new_password(password)
    if await _email_taken(session, address):
        raise DuplicateEmailError(email=address)
    one_time: str | None = None
    if password is None:
        password = one_time = generate_password()
    # argon2 takes tens of milliseconds of CPU on purpose: keep the event loop free.
    password_hash = await asyncio.to_thread(hash_password, password)
    user = User(
        email=address,
        name=display_name,
        role=staff_role,
        password_hash=password_hash,
        must_change_password=one_time is not None,
        is_active=True,
    )
    session.add(user)
    await session.flush()
    return user, one_time


async def ensure_owner(session: AsyncSession, email: str, name: str = "Owner") -> str | None:
    """Create the first owner when there is none; return its one-time password, or None
    when an owner already exists (nothing is changed then)."""
    owner_id = await session.scalar(select(User.id).where(User.role == StaffRole.OWNER).limit(1))
    if owner_id is not None:
        return None
    _user, one_time = await create_user(session, email, name, StaffRole.OWNER)
    return one_time


async def reset_password(user: User) -> str:
    """Give `user` a new one-time password (returned once) that must be changed at the next
    sign-in; the caller ends their sessions and commits."""
    one_time = generate_password()
    user.password_hash = await asyncio.to_thread(hash_password, one_time)
    user.must_change_password = True
    return one_time


async def change_role(session: AsyncSession, user: User, role: StaffRole | str) -> None:
    """Give a staff member another role; the last active owner stays an owner."""
    new_role = _parse_role(role)
    if user.role is StaffRole.OWNER and new_role is not StaffRole.OWNER:
        await _keep_an_owner(session, user)
    user.role = new_role
    await session.flush()


async def deactivate_user(session: AsyncSession, user: User) -> None:
    """Close a staff account (it signs in no more; its history stays). The last active owner
    cannot be closed: nobody could reach the settings any more."""
    if user.role is StaffRole.OWNER and user.is_active:
        await _keep_an_owner(session, user)
    user.is_active = False
    await session.flush()


async def _keep_an_owner(session: AsyncSession, leaving: User) -> None:
    # Lock every active owner's row (PostgreSQL): two owners demoting each other at the same
    # moment are serialised, and the second sees the first's change. SQLite has one writer.
    owners = await session.scalars(
        select(User.id)
        .where(User.role == StaffRole.OWNER, User.is_active.is_(True))
        .with_for_update()
    )
    if not any(owner_id != leaving.id for owner_id in owners):
        raise LastOwnerError()


async def _email_taken(session: AsyncSession, address: str) -> bool:
    # Rows written before e-mails were normalized may carry capitals; compare lower-cased.
    found = await session.scalar(select(User.id).where(func.lower(User.email) == address))
    return found is not None


def _parse_role(role: StaffRole | str) -> StaffRole:
    try:
        return StaffRole(role)
    except ValueError:
        raise UnknownRoleError(role=role) from None
