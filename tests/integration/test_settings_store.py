"""The settings store on every backend: typed values with defaults and checks, raw values
by prefix, and a stored value that no longer passes its check reading as the default.
Also the staff and executor standing rules the settings pages rely on."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.applications import block_executor, unblock_executor
from core.models import ExecutorStatus, Setting, StaffRole
from core.settings_store import (
    DIGEST_TIME,
    MANAGERS_SEE_ALL,
    PREPAYMENT_DEFAULT,
    SETTING_KEYS,
    SettingError,
    get_setting,
    get_value,
    get_values,
    reset_value,
    set_setting,
    set_value,
)
from core.staff import LastOwnerError, change_role, create_user, deactivate_user
from tests import builders


async def test_settings_read_their_default_until_set_and_keep_what_was_set(
    session: AsyncSession,
) -> None:
    assert await get_setting(session, DIGEST_TIME) == "09:00"
    assert await get_setting(session, MANAGERS_SEE_ALL) is True

    stored = await set_setting(session, DIGEST_TIME, " 7:05 ")
    await set_setting(session, MANAGERS_SEE_ALL, False)
    await set_setting(session, PREPAYMENT_DEFAULT, 0)
    await session.commit()

    assert stored == "07:05"
    assert await get_setting(session, DIGEST_TIME) == "07:05"
    assert await get_setting(session, MANAGERS_SEE_ALL) is False
    assert await get_setting(session, PREPAYMENT_DEFAULT) == 0
    await set_setting(session, DIGEST_TIME, "21:40")  # an update, not a second row
    assert await get_setting(session, DIGEST_TIME) == "21:40"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (DIGEST_TIME, "24:00"), (DIGEST_TIME, "9"), (DIGEST_TIME, 900),
        (PREPAYMENT_DEFAULT, 101), (PREPAYMENT_DEFAULT, -1), (PREPAYMENT_DEFAULT, True),
        (PREPAYMENT_DEFAULT, "50"), (MANAGERS_SEE_ALL, "no"), (MANAGERS_SEE_ALL, 0),
    ],
)  # fmt: skip
async def test_invalid_values_are_refused_and_nothing_is_stored(
    session: AsyncSession, key: object, value: object
) -> None:
    before = await get_value(session, key.key)  # type: ignore[attr-defined]
    with pytest.raises(SettingError) as refused:
        await set_setting(session, key, value)  # type: ignore[arg-type]

    assert refused.value.msgid
    assert await get_value(session, key.key) == before  # type: ignore[attr-defined]


async def test_a_stored_value_that_no_longer_passes_reads_as_the_default(
    session: AsyncSession,
) -> None:
    await set_value(session, DIGEST_TIME.key, "half past eight")

    assert await get_setting(session, DIGEST_TIME) == "09:00"


async def test_raw_values_by_prefix_and_reset(session: AsyncSession) -> None:
    await set_value(session, "notice.paid", {"ru": "Оплачено", "en": "Paid"})
    await set_value(session, "notice.step.en_route", "В пути")
    await set_value(session, "noticeboard", 1)  # shares letters, not the "notice." prefix
    await session.commit()

    assert await get_values(session, "notice.") == {
        "notice.paid": {"ru": "Оплачено", "en": "Paid"},
        "notice.step.en_route": "В пути",
    }
    assert await reset_value(session, "notice.paid") is True
    assert await reset_value(session, "notice.paid") is False
    assert await get_value(session, "notice.paid") is None


async def test_the_last_active_owner_stays_an_owner(session: AsyncSession) -> None:
    owner, _ = await create_user(
        session, "o@example.com", "Owner", StaffRole.OWNER, "owner-password-1"
    )
    manager, _ = await create_user(
        session, "m@example.com", "Manager", "manager", "manager-password-1"
    )

    with pytest.raises(LastOwnerError):
        await deactivate_user(session, owner)
    with pytest.raises(LastOwnerError):
        await change_role(session, owner, StaffRole.MANAGER)
    await change_role(session, manager, "owner")
    await deactivate_user(session, owner)  # another owner is there now
    with pytest.raises(LastOwnerError):
        await change_role(session, manager, StaffRole.OPERATOR)
    await session.commit()

    assert (owner.is_active, manager.role) == (False, StaffRole.OWNER)


async def test_block_and_unblock_return_to_the_standing_before(session: AsyncSession) -> None:
    approved = await builders.executor(session, "Одобренный")
    approved.approved_at = approved.created_at
    applicant = await builders.executor(session, "Заявитель", status=ExecutorStatus.APPLICANT)

    assert block_executor(approved) and not block_executor(approved)
    assert block_executor(applicant)
    assert unblock_executor(approved) and not unblock_executor(approved)
    assert unblock_executor(applicant)

    assert approved.status is ExecutorStatus.ACTIVE
    assert applicant.status is ExecutorStatus.APPLICANT  # the application waits again


async def test_a_new_installation_seeds_every_setting_under_the_key_the_code_reads(
    session: AsyncSession,
) -> None:
    stored = {row.key: row.value for row in await session.scalars(select(Setting))}

    assert stored == {setting.key: setting.default for setting in SETTING_KEYS}
    assert {"digest.time", "panel.managers_see_all"} <= set(stored)
