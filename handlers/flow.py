"""What multi-step flows share without importing the routing table (which imports them):
the `Flow` record the engine drives, running a core change so that a refusal leaves the
turn's transaction usable, and taking an uploaded file in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from core.i18n import N_
from core.models import FilePurpose, StoredFile
from handlers.turn import Turn
from inbox.files import FileTooLarge
from inbox.files.inbound import Owner

T = TypeVar("T")

FILE_TOO_BIG = N_(
    "The file {name} is larger than {limit} MB and was not taken. "
    "Please send a smaller one or a link."
)


@dataclass(frozen=True, slots=True)
class Flow:
    on_input: Callable[[Turn], Awaitable[None]]  # the answer the current step waits for
    ask: Callable[[Turn], Awaitable[None]]  # ask the current step again (a resumed wizard)
    start: Callable[[Turn], Awaitable[None]]  # from the beginning ("start over")
    # A wizard left alone for long is offered "continue or start over?" (engine.py).
    resumable: bool = True


async def in_savepoint(turn: Turn, change: Callable[[], Awaitable[T]]) -> T:
    """Run a core change inside a SAVEPOINT. A refused or lost change (another executor
    took the job a moment earlier) then rolls back alone: the inbound event, the dialog
    state and the reply saying "already taken" still commit with the turn."""
    async with turn.session.begin_nested():
        return await change()


async def take_upload(
    turn: Turn, file: Any, purpose: FilePurpose, *, executor_id: int | None = None
) -> StoredFile | None:
    """Store one file the person sent; None (and a message saying why) when it is too
    large, or when this installation takes no files in (`Services.files` is None)."""
    intake = turn.services.files
    if intake is None:
        return None
    executor = executor_id if executor_id is not None else turn.identity.executor_id
    owner = Owner(client_id=turn.identity.client_id, executor_id=executor)
    try:
        stored: StoredFile = await intake.take(
            turn.session, turn.incoming.channel, file, owner=owner, purpose=purpose
        )
    except FileTooLarge as error:
        name = file.name or "file"
        turn.say(turn.t(FILE_TOO_BIG, name=name, limit=error.limit // (1024 * 1024)))
        return None
    return stored
