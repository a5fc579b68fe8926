"""The main menu, different for a client, an executor and an applicant, reachable at any
time with /start or /menu; and Cancel, which leaves any flow for the menu."""

from __future__ import annotations

from core.i18n import N_
from core.models import ExecutorStatus
from handlers.reply import button, rows
from handlers.turn import Turn

CLIENT_MENU = N_("What would you like to do?")
EXECUTOR_MENU = N_("Executor menu. New jobs that match your skills come here by themselves.")
FEED_PAUSED_NOTE = N_("Your job feed is paused.")
APPLICANT_WAITS = N_("Your application is with a manager. We will write as soon as it is reviewed.")
BLOCKED = N_("Your account is blocked. Please contact the manager.")
NEW_ORDER = N_("New order")
MY_ORDERS = N_("My orders")
BALANCE = N_("Balance and discount")
TALK = N_("Talk to a manager")
WORK_WITH_US = N_("Work with us")
MY_JOBS = N_("My jobs")
PAUSE_FEED = N_("Pause the feed")
RESUME_FEED = N_("Resume the feed")
TALK_PROMPT = N_("Write your question here: a manager will answer in this chat.")
CANCELLED = N_("Cancelled.")
STALE_BUTTON = N_("This button is no longer active. Here is the menu.")


async def show_menu(turn: Turn) -> None:
    executor = await turn.executor()
    if executor is None:
        turn.say(
            turn.t(CLIENT_MENU),
            buttons=rows(
                [
                    button(turn.t(NEW_ORDER), "menu:new"),
                    button(turn.t(MY_ORDERS), "menu:orders"),
                    button(turn.t(BALANCE), "menu:balance"),
                    button(turn.t(TALK), "menu:talk"),
                    button(turn.t(WORK_WITH_US), "menu:apply"),
                ],
                2,
            ),
        )
        return
    if executor.status is ExecutorStatus.APPLICANT:
        turn.say(turn.t(APPLICANT_WAITS))
        return
    if executor.status is ExecutorStatus.BLOCKED:
        turn.say(turn.t(BLOCKED))
        return
    paused = executor.status is ExecutorStatus.PAUSED
    text = turn.t(EXECUTOR_MENU) + ("\n" + turn.t(FEED_PAUSED_NOTE) if paused else "")
    feed = (
        button(turn.t(RESUME_FEED), "menu:resume")
        if paused
        else button(turn.t(PAUSE_FEED), "menu:pause")
    )
    turn.say(
        text,
        buttons=rows(
            [button(turn.t(MY_JOBS), "menu:jobs"), feed, button(turn.t(TALK), "menu:talk")], 2
        ),
    )


async def stale_button(turn: Turn) -> None:
    """A button of a flow that is over (or of an area nobody handles): say so, and the menu."""
    turn.say(turn.t(STALE_BUTTON))
    await show_menu(turn)


async def talk(turn: Turn) -> None:
    turn.say(turn.t(TALK_PROMPT))


async def cancel(turn: Turn) -> None:
    await turn.finish()
    turn.say(turn.t(CANCELLED), remove_keyboard=True)
    await show_menu(turn)
