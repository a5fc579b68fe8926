"""Staff accounts on every backend: creating users, duplicates, the first owner, passwords."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from argon2 import extract_parameters
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import StaffRole, User
from core.staff import (
    PRODUCTION_HASHER,
    CommonPasswordError,
    DuplicateEmailError,
    EmptyNameError,
    InvalidEmailError,
    UnknownRoleError,
    WeakPasswordError,
    create_user,
    ensure_owner,
    hash_password,
    password_needs_rehash,
    use_password_hasher,
    verify_password,
)

ONE_TIME_PASSWORD = re.compile(r"^[A-Za-z0-9]{5}-[A-Za-z0-9]{5}-[A-Za-z0-9]{5}$")


async def test_create_user_generates_a_one_time_password(session: AsyncSession) -> None:
    user, password = await create_user(session, "  Anna@Example.COM ", "Anna", "manager")
    await session.commit()

    assert password is not None and ONE_TIME_PASSWORD.match(password)
    assert user.email == "anna@example.com"
    assert user.role is StaffRole.MANAGER
    assert user.must_change_password is True
    assert user.password_hash.startswith("$argon2id$")
    assert password not in user.password_hash
    assert verify_password(user.password_hash, password)
    assert not verify_password(user.password_hash, password + "x")


async def test_create_user_with_a_given_password(session: AsyncSession) -> None:
    user, password = await create_user(
        session, "op@example.com", "Oleg", StaffRole.OPERATOR, "correct horse battery"
    )

    assert password is None
    assert user.must_change_password is False
    assert verify_password(user.password_hash, "correct horse battery")


async def test_the_account_is_stored(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create_user(session, "stored@example.com", "Stored", "manager", "long enough pw")
    await session.commit()

    async with sessions() as other:
        found = await other.scalar(sa.select(User).where(User.email == "stored@example.com"))

    assert found is not None and found.name == "Stored"


async def test_a_duplicate_email_is_refused_whatever_its_case(session: AsyncSession) -> None:
    await create_user(session, "dup@example.com", "First", "manager")

    with pytest.raises(DuplicateEmailError) as error:
        await create_user(session, "DUP@example.com", "Second", "operator")

    assert "dup@example.com" in str(error.value)
    assert "dup@example.com" in error.value.localized("ru")
    assert error.value.localized("ru") != str(error.value)


@pytest.mark.parametrize(
    ("email", "name", "role", "password", "error"),
    [
        ("no-at-sign", "Name", "manager", None, InvalidEmailError),
        ("two words@example.com", "Name", "manager", None, InvalidEmailError),
        ("user@localhost", "Name", "manager", None, InvalidEmailError),
        ("ok@example.com", "   ", "manager", None, EmptyNameError),
        ("ok@example.com", "Name", "admin", None, UnknownRoleError),
        ("ok@example.com", "Name", "manager", "short", WeakPasswordError),
        ("ok@example.com", "Name", "manager", "1234567890", CommonPasswordError),
    ],
)
async def test_bad_account_data_is_refused_with_a_clear_error(
    session: AsyncSession,
    email: str,
    name: str,
    role: str,
    password: str | None,
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        await create_user(session, email, name, role, password)

    assert await session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


async def test_ensure_owner_creates_exactly_one_owner(session: AsyncSession) -> None:
    first = await ensure_owner(session, "Boss@Example.com")
    await session.commit()
    second = await ensure_owner(session, "other@example.com")
    await session.commit()

    owners = (await session.scalars(sa.select(User).where(User.role == StaffRole.OWNER))).all()
    assert first is not None and ONE_TIME_PASSWORD.match(first)
    assert second is None
    assert [owner.email for owner in owners] == ["boss@example.com"]
    assert owners[0].must_change_password is True
    assert verify_password(owners[0].password_hash, first)


async def test_ensure_owner_ignores_other_staff(session: AsyncSession) -> None:
    await create_user(session, "manager@example.com", "Manager", "manager")

    password = await ensure_owner(session, "owner@example.com")

    assert password is not None


def test_verify_password_treats_a_foreign_hash_as_a_mismatch() -> None:
    assert verify_password("not-an-argon2-hash", "anything") is False


async def test_staff_accounts_in_tests_are_hashed_cheaply_and_production_is_unchanged(
    session: AsyncSession,
) -> None:
    user, _password = await create_user(session, "cheap@example.com", "Cheap", "manager")

    made_with = extract_parameters(user.password_hash)
    assert (made_with.time_cost, made_with.memory_cost, made_with.parallelism) == (1, 8, 1)
    # RFC 9106 low-memory profile, as before: t=3, 64 MiB, 4 lanes.
    production = (
        PRODUCTION_HASHER.time_cost,
        PRODUCTION_HASHER.memory_cost,
        PRODUCTION_HASHER.parallelism,
    )
    assert production == (3, 65536, 4)


def test_a_cheap_hash_verifies_in_production_and_is_upgraded_at_the_next_sign_in() -> None:
    cheap = hash_password("correct horse battery")
    test_hasher = use_password_hasher(PRODUCTION_HASHER)
    try:
        assert verify_password(cheap, "correct horse battery")
        assert password_needs_rehash(cheap)
    finally:
        use_password_hasher(test_hasher)
