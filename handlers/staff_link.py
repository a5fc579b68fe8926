"""A staff member links their own Telegram to their panel account with a one-time code
(`pult user link-telegram`), sent as "/start <code>"; then they get the desk's alerts."""

from __future__ import annotations

from core.i18n import N_
from core.models import User
from handlers.turn import Turn
from inbox.staff_link import normalize_code, redeem_link_code

LINKED = N_("Done, {name}: this chat now gets the desk's alerts.")


async def try_link(turn: Turn, code: str) -> bool:
    """True when `code` was a valid link code and the identity is now the staff member's.
    Anything else ("/start work", a mistyped code) is left to the other /start meanings."""
    if not normalize_code(code):
        return False
    user = await redeem_link_code(turn.session, turn.identity, code)
    if user is None:
        return False
    await turn.finish()
    turn.say(turn.t(LINKED, name=user.name))
    return True


STAFF_CHAT = N_(
    "This chat gets the desk's alerts for {name}. Clients are answered in the panel; "
    "to link another account, send /start with its code."
)


async def staff_turn(turn: Turn, argument: str = "") -> bool:
    """Anything a linked staff member sends: a new link code is tried, everything else is
    answered with what this chat is for (nothing a staff member writes here is filed)."""
    if argument and await try_link(turn, argument):
        return True
    user = await turn.session.get(User, turn.identity.user_id)
    turn.say(turn.t(STAFF_CHAT, name=user.name if user else ""))
    return True
