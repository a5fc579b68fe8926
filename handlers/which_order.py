""" "Which order?": the flow a client (or an executor) with several open orders is in after
the pipeline asked which order a message is about (inbox/held.py holds the messages and
files them). While the question is open, whatever the person writes is held as well, in
order; the button of an offered order files everything held into that order's thread.
Leaving the question any other way (the menu, a command, another flow) files what was held
in the person's own conversation: the engine sees to that (`engine.Dialogs`)."""

from __future__ import annotations

from datetime import timedelta

from handlers.menu import show_menu, stale_button
from handlers.turn import Turn
from inbox import held

FLOW = held.FLOW
AREA = "thread"  # the button area of inbox.threading.choice_payload: "thread:order:<id>"

# Held messages do not repeat the question; one written after a long silence does (the
# person may have forgotten the question was asked).
ASK_AGAIN_AFTER = timedelta(hours=1)


async def on_input(turn: Turn) -> None:
    """A message while the question is open: held with the earlier ones."""
    state = turn.state
    assert state is not None
    event_id = await held.event_of(turn.session, turn.incoming)
    quiet_since = state.updated_at
    if event_id is not None:
        turn.move(state.step, **held.with_held(state.data, event_id))
    if turn.now - quiet_since > ASK_AGAIN_AFTER:
        await ask(turn)


async def ask(turn: Turn) -> None:
    if turn.state is None or turn.state.flow != FLOW:
        await show_menu(turn)  # "start over" of an old prompt: the question is over
        return
    await held.ask(turn.session, turn.identity, held.offered(turn.state), turn.services.locale)


async def on_button(turn: Turn, action: str, args: list[str]) -> None:
    """ "This message is about order N"."""
    state = turn.state
    if state is None or state.flow != FLOW or action != "order":
        await stale_button(turn)  # the question is over (or the payload is not ours)
        return
    chosen = args[0] if args else ""
    order_id = int(chosen) if chosen.isdigit() and len(chosen) <= 18 else None
    if order_id is None or order_id not in held.offered(state):
        await ask(turn)  # not one of the orders offered: ask again, file nothing
        return
    await held.file_in_order(
        turn.session, turn.services.files, turn.identity, order_id, held.held_events(state)
    )
    await turn.finish()
