"""What handles what: commands, button areas (the part of a button payload before the first
':') and multi-step flows (the `flow` of a saved dialog state). The engine looks here; the
flow modules know nothing of each other beyond the menu."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from handlers import (
    application,
    client,
    driver,
    executor,
    menu,
    registration,
    staff_link,
    which_order,
    wizard,
)
from handlers.flow import Flow
from handlers.turn import Turn

ButtonHandler = Callable[[Turn, str, list[str]], Awaitable[None]]
CommandHandler = Callable[[Turn, str], Awaitable[None]]


async def start_command(turn: Turn, argument: str) -> None:
    if argument and await staff_link.try_link(turn, argument):
        return
    await turn.finish()
    if argument in ("work", "executor") and turn.identity.executor_id is None:
        await executor.apply(turn)
    elif not await registration.is_registered(turn):
        await registration.start(turn)
    else:
        await menu.show_menu(turn)


async def menu_command(turn: Turn, _: str) -> None:
    await turn.finish()
    await menu.show_menu(turn)


async def cancel_command(turn: Turn, _: str) -> None:
    await menu.cancel(turn)


COMMANDS: dict[str, CommandHandler] = {
    "start": start_command,
    "menu": menu_command,
    "cancel": cancel_command,
}


async def menu_button(turn: Turn, action: str, _: list[str]) -> None:
    await turn.finish()
    choices: dict[str, Callable[[Turn], Awaitable[None]]] = {
        "new": wizard.start,
        "orders": client.my_orders,
        "balance": client.balance,
        "talk": menu.talk,
        "apply": executor.apply,
        "jobs": executor.my_jobs,
        "pause": executor.pause_feed,
        "resume": executor.resume_feed,
    }
    await choices.get(action, menu.show_menu)(turn)


async def dialog_button(turn: Turn, action: str, _: list[str]) -> None:
    """Controls every flow shares: cancel, and the answer to "continue or start over?"."""
    state = turn.state
    flow = FLOWS.get(state.flow) if state is not None else None
    if action == "cancel" or state is None or flow is None:
        await menu.cancel(turn)
    elif action == "resume":
        turn.move(state.data.get("resume_step", state.step))
        await flow.ask(turn)
    else:
        await turn.finish()
        await flow.start(turn)


BUTTONS: dict[str, ButtonHandler] = {
    "menu": menu_button,
    "dlg": dialog_button,
    "reg": registration.on_button,
    "wiz": wizard.on_button,
    "ord": client.on_button,
    "apply": application.on_button,
    "job": executor.on_button,
    "trip": driver.on_button,
    which_order.AREA: which_order.on_button,
}

FLOWS: dict[str, Flow] = {
    registration.FLOW: Flow(registration.on_input, registration.ask, registration.start),
    wizard.FLOW: Flow(wizard.on_input, wizard.ask, wizard.start),
    client.REVISION_FLOW: Flow(client.on_revision_input, client.ask_revision, menu.show_menu),
    **executor.FLOWS,
    **driver.FLOWS,
    # Not a wizard: never offered "continue or start over?" (`resumable=False`).
    which_order.FLOW: Flow(which_order.on_input, which_order.ask, which_order.ask, resumable=False),
}


async def show_menu(turn: Turn) -> None:
    await menu.show_menu(turn)


async def on_free_text(turn: Turn) -> bool:
    """Text outside any flow goes to the conversations; a client we do not know yet is
    greeted and asked to introduce themselves at the same time."""
    if turn.identity.executor_id is None and not await registration.is_registered(turn):
        await registration.start(turn)
    return False


async def on_location(turn: Turn) -> bool:
    return await driver.on_location(turn)
