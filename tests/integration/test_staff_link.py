"""Staff linking codes on every backend: a code issued for a staff user links the messenger
identity that redeems it, once, within 24 hours; wrong, used and expired codes do nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import orders
from core.db import utcnow
from core.models import ChannelIdentity, Client, Setting, StaffLinkCode, User
from core.transitions import Actor
from inbox.channel import Incoming
from inbox.people import identify
from inbox.staff_link import (
    CODE_ALPHABET,
    CODE_LENGTH,
    issue_link_code,
    normalize_code,
    redeem_link_code,
)
from tests import builders


async def newcomer(session: AsyncSession, sender: str = "5123456789") -> ChannelIdentity:
    """The identity of someone who has just written "/start CODE" to the bot: identified as
    a lead client, as every first contact is."""
    return await identify(
        session, Incoming(channel="telegram", sender_id=sender, message_id=f"m-{sender}")
    )


async def test_a_code_links_the_identity_to_the_staff_user_once(session: AsyncSession) -> None:
    manager = await builders.staff(session)
    code = await issue_link_code(session, manager)
    identity = await newcomer(session)
    lead_client = identity.client_id

    linked = await redeem_link_code(session, identity, code)

    assert linked is not None and linked.id == manager.id
    assert (identity.user_id, identity.client_id, identity.executor_id) == (manager.id, None, None)
    assert await session.get(Client, lead_client) is not None  # left behind, not deleted
    assert await redeem_link_code(session, await newcomer(session, "77"), code) is None


async def test_the_code_is_short_readable_and_never_stored_in_clear(
    session: AsyncSession,
) -> None:
    code = await issue_link_code(session, await builders.staff(session))

    assert len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET)
    stored = list(await session.scalars(select(StaffLinkCode)))
    assert [re.fullmatch(r"[0-9a-f]{64}", row.code_hash) is not None for row in stored] == [True]
    assert all(code not in row.code_hash for row in stored)
    # Codes have a table of their own: none is a business setting any more.
    assert await session.scalar(select(Setting).where(Setting.key.like("staff_link%"))) is None


async def test_the_code_is_typed_forgivingly(session: AsyncSession) -> None:
    manager = await builders.staff(session)
    code = await issue_link_code(session, manager)
    typed = f" {code[:4].lower()}-{code[4:]} "

    assert normalize_code(typed) == code
    assert await redeem_link_code(session, await newcomer(session), typed) is not None


@pytest.mark.parametrize("wrong", ["", "/start", "ABCDEFG", "ABCDEFGHJ", "ABCD0FGH", "АБВГДЕЖЗ"])
async def test_a_malformed_code_is_refused(session: AsyncSession, wrong: str) -> None:
    await issue_link_code(session, await builders.staff(session))
    identity = await newcomer(session)

    assert await redeem_link_code(session, identity, wrong) is None
    assert identity.user_id is None and identity.client_id is not None


async def test_a_wrong_code_is_refused_and_spoils_nothing(session: AsyncSession) -> None:
    manager = await builders.staff(session)
    code = await issue_link_code(session, manager)
    wrong = "".join(CODE_ALPHABET[(CODE_ALPHABET.index(c) + 1) % len(CODE_ALPHABET)] for c in code)
    identity = await newcomer(session)

    assert await redeem_link_code(session, identity, wrong) is None
    assert identity.user_id is None
    assert await redeem_link_code(session, identity, code) is not None


async def test_an_expired_code_is_refused(session: AsyncSession) -> None:
    issued = utcnow() - timedelta(hours=24, seconds=1)
    code = await issue_link_code(session, await builders.staff(session), now=issued)

    assert await redeem_link_code(session, await newcomer(session), code) is None


async def test_a_code_within_its_day_works(session: AsyncSession) -> None:
    issued = utcnow() - timedelta(hours=23, minutes=59)
    code = await issue_link_code(session, await builders.staff(session), now=issued)

    assert await redeem_link_code(session, await newcomer(session), code) is not None


async def test_a_new_code_replaces_the_old_and_expired_codes_are_cleared(
    session: AsyncSession,
) -> None:
    manager, operator = await builders.staff(session), await builders.staff(session)
    stale = await issue_link_code(session, operator, now=utcnow() - timedelta(days=2))
    first = await issue_link_code(session, manager)
    second = await issue_link_code(session, manager)

    assert await redeem_link_code(session, await newcomer(session, "1"), first) is None
    assert await redeem_link_code(session, await newcomer(session, "2"), stale) is None
    assert await redeem_link_code(session, await newcomer(session, "3"), second) is not None
    assert list(await session.scalars(select(StaffLinkCode))) == []


async def test_a_deactivated_user_cannot_be_linked(session: AsyncSession) -> None:
    manager = await builders.staff(session)
    code = await issue_link_code(session, manager)
    manager.is_active = False

    assert await redeem_link_code(session, await newcomer(session), code) is None


async def test_a_clients_account_with_orders_is_not_taken_over(session: AsyncSession) -> None:
    code = await issue_link_code(session, await builders.staff(session))
    customer = await newcomer(session)
    assert customer.client_id is not None
    paper = await builders.kind(session, "student_paper")
    await orders.create_order(
        session, kind=paper, client_id=customer.client_id, actor=Actor.client(customer.client_id)
    )

    assert await redeem_link_code(session, customer, code) is None
    assert customer.user_id is None and customer.client_id is not None
    # The code is still good for the staff member's own account.
    assert await redeem_link_code(session, await newcomer(session, "99"), code) is not None


async def test_an_executors_account_is_not_taken_over(session: AsyncSession) -> None:
    code = await issue_link_code(session, await builders.staff(session))
    author = await builders.executor(session)
    identity = ChannelIdentity(channel="telegram", external_id="8", executor_id=author.id)
    session.add(identity)
    await session.flush()

    assert await redeem_link_code(session, identity, code) is None
    assert (identity.executor_id, identity.user_id) == (author.id, None)


async def test_the_link_is_stored(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    manager = await builders.staff(session)
    code = await issue_link_code(session, manager)
    identity = await newcomer(session)
    await session.commit()

    async with sessions() as other:
        found = await other.get(ChannelIdentity, identity.id)
        assert found is not None
        assert await redeem_link_code(other, found, code) is not None
        await other.commit()

    async with sessions() as third:
        linked = await third.scalar(
            select(User).join(ChannelIdentity, ChannelIdentity.user_id == User.id)
        )
        left = await third.scalar(select(StaffLinkCode))
    assert linked is not None and linked.id == manager.id
    assert left is None
