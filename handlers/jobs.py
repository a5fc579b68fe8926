"""An executor's jobs once they have them: the list of active jobs, one job's card with what
can be done now (start work, submit the result, submit again after a revision, ask the
manager), and the result flow: files (several, then Done) and an optional comment; the
result then goes to review (or is ready at once for kinds without review).

A supplier company's dispatcher sees and acts on the jobs of its drivers too, as core does."""

from __future__ import annotations

from sqlalchemy import or_, select

from core import orders
from core.exchange import ACTIVE_JOB_STATUSES
from core.i18n import N_, gettext
from core.lifecycle import Action, TransitionError
from core.models import Executor, FilePurpose, Order, OrderEvent, OrderStatus, StoredFile
from core.transitions import OrderRuleError
from handlers.cards import detail_rows, job_title, masked_for_executor, money, status_label
from handlers.flow import in_savepoint, take_upload
from handlers.menu import show_menu
from handlers.reply import Reply, button, card, rows
from handlers.turn import Turn
from handlers.wizard import CANCEL, DONE, FILES_EXPECTED, FILES_TAKEN, SKIP
from inbox.channel import Button
from inbox.conversations import add_message, order_thread
from inbox.models import ConversationKind, Direction

RESULT_FLOW = "result"

NO_JOBS = N_("You have no active jobs.")
YOUR_JOBS = N_("Your jobs:")
JOB = N_("Job №{number}")
STATUS = N_("Status")
YOUR_PRICE = N_("Your price")
MANAGER_COMMENT = N_("The manager's comment")
IN_REVIEW_NOTE = N_("The result is with the manager for review.")
START_WORK = N_("Start work")
SUBMIT_RESULT = N_("Submit the result")
SUBMIT_AGAIN = N_("Submit again")
ASK_MANAGER = N_("Ask the manager")
STARTED = N_("Work on job №{number} has started. When the result is ready, submit it here.")
SEND_RESULT = N_("Send the result files for job №{number}, then press Done.")
NO_RESULT_FILES = N_("Please send at least one file.")
ASK_COMMENT = N_("A comment for the manager (optional):")
RESULT_SENT = N_("The result for job №{number} is sent to the manager for review.")
RESULT_DONE = N_("The result for job №{number} is submitted. Thank you!")
RESULT_FILED = N_("Result submitted")
ASK_PROMPT = N_(
    "Write your question about job №{number} here: the manager will answer in this chat."
)
NOT_YOURS = N_("This job is not available to you.")
JOB_LATE = N_("This action is no longer possible for job №{number}: its status has changed.")


async def own_job(turn: Turn, args: list[str]) -> Order | None:
    """The job named by a button, if it is this executor's (or one of their drivers')."""
    me = turn.identity.executor_id
    if not args or not args[0].isdigit() or me is None:
        return None
    order = await turn.session.get(Order, int(args[0]))
    if order is None or order.executor_id is None:
        return None
    if order.executor_id == me:
        return order
    assignee = await turn.session.get(Executor, order.executor_id)
    return order if assignee is not None and assignee.parent_id == me else None


async def my_jobs(turn: Turn) -> None:
    me = turn.identity.executor_id
    team = select(Executor.id).where(or_(Executor.id == me, Executor.parent_id == me))
    found = list(
        await turn.session.scalars(
            select(Order)
            .where(Order.executor_id.in_(team), Order.status.in_(ACTIVE_JOB_STATUSES))
            .order_by(Order.id.desc())
            .limit(20)
        )
    )
    if not found:
        turn.say(turn.t(NO_JOBS))
        await show_menu(turn)
        return
    labels = [
        button(
            f"№{job.number} {masked_for_executor(job.title, turn.locale)}"[:60],
            f"{_area(job)}:show:{job.id}",
        )
        for job in found
    ]
    turn.say(turn.t(YOUR_JOBS), buttons=rows(labels))


def _area(order: Order) -> str:
    return "trip" if order.kind.execution_steps else "job"


async def show(turn: Turn, order: Order) -> None:
    """The job card with what can be done now."""
    if order.kind.execution_steps:
        from handlers import driver  # the trip card; driver imports this module

        await driver.show(turn, order)
        return
    locale = turn.locale
    lines = [
        (turn.t(STATUS), status_label(order, locale)),
        *detail_rows(order, locale, masked=True),
    ]
    lines.append((turn.t(YOUR_PRICE), money(order.executor_price, order, turn.locale)))
    if order.status is OrderStatus.REVISION:
        lines.append((turn.t(MANAGER_COMMENT), await _revision_comment(turn, order)))
    footer = turn.t(IN_REVIEW_NOTE) if order.status is OrderStatus.IN_REVIEW else ""
    title = job_title(order, locale, JOB)
    turn.replies.append(
        Reply(
            html=card(title, lines, footer),
            buttons=rows(
                [*_actions(turn, order), button(turn.t(ASK_MANAGER), f"job:ask:{order.id}")]
            ),
            order_id=order.id,
        )
    )


def _actions(turn: Turn, order: Order) -> list[Button]:
    if order.status is OrderStatus.ASSIGNED:
        return [button(turn.t(START_WORK), f"job:start:{order.id}")]
    if order.status is OrderStatus.IN_PROGRESS:
        return [button(turn.t(SUBMIT_RESULT), f"job:submit:{order.id}")]
    if order.status is OrderStatus.REVISION:
        return [button(turn.t(SUBMIT_AGAIN), f"job:submit:{order.id}")]
    return []


async def _revision_comment(turn: Turn, order: Order) -> str:
    data = await turn.session.scalar(
        select(OrderEvent.data)
        .where(OrderEvent.order_id == order.id)
        .where(OrderEvent.action == Action.RETURN_FOR_REVISION.value)
        .order_by(OrderEvent.id.desc())
        .limit(1)
    )
    return str((data or {}).get("comment") or "—")


async def late(turn: Turn, order: Order, number: int) -> None:
    """Say the action came too late and show the job as it is now. `number` is read
    before the change was tried: a rolled-back change leaves the order to be reloaded."""
    turn.say(turn.t(JOB_LATE, number=number))
    await turn.session.refresh(order)
    await show(turn, order)


async def start(turn: Turn, order: Order) -> None:
    number = order.number
    try:
        await in_savepoint(
            turn, lambda: orders.start_work(turn.session, order, turn.executor_actor())
        )
    except (TransitionError, OrderRuleError):
        await late(turn, order, number)
        return
    turn.say(turn.t(STARTED, number=number), order_id=order.id)
    await show(turn, order)


async def ask_manager(turn: Turn, order: Order) -> None:
    # Tied to the job: a reply to this message is filed in the job's executor thread.
    turn.say(turn.t(ASK_PROMPT, number=order.number), order_id=order.id)


# --- the result flow --------------------------------------------------------------------


async def begin_result(turn: Turn, order: Order) -> None:
    if order.status not in (OrderStatus.IN_PROGRESS, OrderStatus.REVISION):
        await late(turn, order, order.number)
        return
    revision = order.status is OrderStatus.REVISION or await _has_result(turn, order)
    turn.begin(RESULT_FLOW, "files", {"order": order.id, "files": [], "revision": revision})
    await ask_result(turn)


async def _has_result(turn: Turn, order: Order) -> bool:
    found = await turn.session.scalar(
        select(StoredFile.id)
        .where(StoredFile.order_id == order.id, StoredFile.purpose == FilePurpose.RESULT)
        .limit(1)
    )
    return found is not None


async def ask_result(turn: Turn) -> None:
    assert turn.state is not None
    cancel = button(turn.t(CANCEL), "dlg:cancel")
    if turn.state.step == "files":
        order = await turn.session.get(Order, turn.state.data["order"])
        number = order.number if order else ""
        done = button(turn.t(DONE), "job:done")
        turn.say(turn.t(SEND_RESULT, number=number), buttons=((done,), (cancel,)))
    else:
        turn.say(turn.t(ASK_COMMENT), buttons=((button(turn.t(SKIP), "job:pass"), cancel),))


async def on_result_input(turn: Turn) -> None:
    assert turn.state is not None
    if turn.state.step == "comment" and turn.text:
        await _complete(turn, turn.text[:4000])
    elif turn.state.step == "files" and turn.incoming.files:
        await _take_files(turn)
    elif turn.state.step == "files":
        turn.say(turn.t(FILES_EXPECTED), buttons=((button(turn.t(DONE), "job:done"),),))
    else:
        await ask_result(turn)


async def _take_files(turn: Turn) -> None:
    assert turn.state is not None
    purpose = FilePurpose.REVISION if turn.state.data["revision"] else FilePurpose.RESULT
    taken = list(turn.state.data["files"])
    for file in turn.incoming.files:
        stored = await take_upload(turn, file, purpose, executor_id=turn.identity.executor_id)
        if stored is not None:
            taken.append(stored.id)
    turn.move("files", files=taken)
    turn.say(turn.t(FILES_TAKEN, count=len(taken)), buttons=((button(turn.t(DONE), "job:done"),),))


async def result_control(turn: Turn, action: str) -> None:
    """job:done (no more files), job:pass (no comment)."""
    assert turn.state is not None
    step = turn.state.step
    if action == "done" and step == "files" and not turn.state.data["files"]:
        turn.say(turn.t(NO_RESULT_FILES))
        await ask_result(turn)
    elif action == "done" and step == "files":
        turn.move("comment")
        await ask_result(turn)
    elif action == "pass" and step == "comment":
        await _complete(turn, "")
    else:
        await ask_result(turn)


async def _complete(turn: Turn, comment: str) -> None:
    assert turn.state is not None
    data = turn.state.data
    await turn.finish()
    order = await turn.session.get(Order, data["order"])
    if order is None:
        turn.say(turn.t(NOT_YOURS))
        return
    number = order.number
    if not await submit(turn, order, data["files"], comment):
        return
    done = RESULT_SENT if order.status is OrderStatus.IN_REVIEW else RESULT_DONE
    turn.say(turn.t(done, number=number), order_id=order.id)


async def submit(turn: Turn, order: Order, file_ids: list[int], comment: str) -> bool:
    """Submit the result (resuming a job returned for revision first), attach the files
    to the order and put them in the job's executor thread, where the manager reviews."""
    number = order.number
    try:
        await in_savepoint(turn, lambda: _submit(turn, order, comment))
    except (TransitionError, OrderRuleError):
        await late(turn, order, number)
        return False
    files = list(await turn.session.scalars(select(StoredFile).where(StoredFile.id.in_(file_ids))))
    for file in files:
        file.order_id = order.id
    thread = await order_thread(turn.session, order, ConversationKind.EXECUTOR)
    await add_message(
        turn.session, thread, Direction.IN, comment or gettext(RESULT_FILED, turn.services.locale),
        channel=turn.incoming.channel, identity_id=turn.identity.id,
        author_executor_id=turn.identity.executor_id, files=files,
    )  # fmt: skip
    return True


async def _submit(turn: Turn, order: Order, comment: str) -> None:
    actor = turn.executor_actor()
    if order.status is OrderStatus.REVISION:
        await orders.resume_work(turn.session, order, actor)
    await orders.submit_result(turn.session, order, actor, comment)
