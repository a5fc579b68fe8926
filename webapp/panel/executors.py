"""Executors: the list by standing (applications, active, paused, blocked), the executor
card with the application's answers and samples, and the decisions a manager takes there:
approve or reject an application (core.applications; the applicant hears it from the
reaction in handlers/reactions.py), block and unblock, skills and capacity."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.applications import (
    ApplicationError,
    approve_application,
    block_executor,
    reject_application,
    unblock_executor,
)
from core.i18n import N_, gettext
from core.models import Executor, ExecutorStatus, Skill, User
from core.transitions import Actor
from webapp.access.guard import PanelRoutes
from webapp.access.permissions import Permission
from webapp.keys import SERVICES, STAFF
from webapp.panel.executor_card import executor_card
from webapp.panel.inputs import ids_in, parse_count, posted_form
from webapp.panel.people_format import Format
from webapp.panel.render import panel_locale, render_page
from webapp.queries import executor_page

PAGE_SIZE = 50
MAX_REASON = 1000
MAX_CAPACITY = 100
MAX_SKILL_NAME = 120

DONE = {
    "approved": N_("The application is approved; the applicant is notified."),
    "rejected": N_("The application is rejected; the applicant is notified."),
    "blocked": N_("The executor is blocked: no jobs are offered to them."),
    "unblocked": N_("The executor is unblocked."),
    "skills": N_("Saved."),
}


def add_executor_routes(panel: PanelRoutes) -> None:
    panel.get("/executors", executors_list, Permission.EXECUTORS, name="executors")
    panel.get("/executors/{id:\\d+}", executor_page_view, Permission.EXECUTORS, name="executor")
    panel.post("/executors/{id:\\d+}/approve", approve, Permission.EXECUTORS)
    panel.post("/executors/{id:\\d+}/reject", reject, Permission.EXECUTORS)
    panel.post("/executors/{id:\\d+}/block", block, Permission.EXECUTORS)
    panel.post("/executors/{id:\\d+}/unblock", unblock, Permission.EXECUTORS)
    panel.post("/executors/{id:\\d+}/skills", save_skills, Permission.EXECUTORS)


def fmt_for(request: web.Request) -> Format:
    return Format.for_request(request)


async def executors_list(request: web.Request) -> web.StreamResponse:
    try:
        tab = ExecutorStatus(request.query.get("tab", ExecutorStatus.APPLICANT.value))
    except ValueError:
        tab = ExecutorStatus.APPLICANT
    query = request.query.get("q", "").strip()[:100]
    async with request.app[SERVICES].uow() as uow:
        page = await executor_page(uow.session, status=tab, query=query, limit=PAGE_SIZE)
    return render_page(
        request, "panel/people/executors.html", section="executors", page=page, tab=tab,
        tabs=list(ExecutorStatus), query=query, fmt=fmt_for(request),
    )  # fmt: skip


async def executor_page_view(request: web.Request) -> web.StreamResponse:
    return await _card_page(request, done=request.query.get("done"))


async def _card_page(
    request: web.Request, *, done: str | None = None, error: str | None = None,
    reason: str = "", status: int = 200, typed: dict[str, object] | None = None,
) -> web.Response:  # fmt: skip
    async with request.app[SERVICES].uow() as uow:
        card = await executor_card(
            uow.session,
            int(request.match_info["id"]),
            only_assigned_to=request[STAFF].only_assigned_to,
        )
    if card is None:
        raise web.HTTPNotFound(text="No such executor")
    message = DONE.get(done or "")
    return render_page(
        request, "panel/people/executor.html", section="executors", card=card,
        fmt=fmt_for(request), done=message, error=error, reason=reason, status=status,
        typed=typed,
    )  # fmt: skip


async def approve(request: web.Request) -> web.StreamResponse:
    return await _decide(request, "approved")


async def reject(request: web.Request) -> web.StreamResponse:
    return await _decide(request, "rejected")


async def _decide(request: web.Request, decision: str) -> web.StreamResponse:
    executor_id = int(request.match_info["id"])
    form = await posted_form(request)
    reason = str(form.get("reason", "")).strip()
    locale = panel_locale(request)
    if len(reason) > MAX_REASON:
        error = gettext("The reason is too long: at most {limit} characters.", locale)
        return await _card_page(request, error=error.format(limit=MAX_REASON), reason=reason,
                                status=422)  # fmt: skip
    async with request.app[SERVICES].uow() as uow:
        executor = await _executor(uow.session, executor_id)
        actor = await _actor(uow.session, request[STAFF].user_id)
        try:
            if decision == "approved":
                await approve_application(uow.session, executor, actor)
            else:
                await reject_application(uow.session, executor, actor, reason)
        except ApplicationError:
            await uow.rollback()
            error = gettext("This application has been decided already.", locale)
            return await _card_page(request, error=error, status=409)
        await uow.commit()
    raise web.HTTPSeeOther(f"/executors/{executor_id}?done={decision}")


async def block(request: web.Request) -> web.StreamResponse:
    return await _standing(request, block=True)


async def unblock(request: web.Request) -> web.StreamResponse:
    return await _standing(request, block=False)


async def _standing(request: web.Request, *, block: bool) -> web.StreamResponse:
    executor_id = int(request.match_info["id"])
    async with request.app[SERVICES].uow() as uow:
        executor = await _executor(uow.session, executor_id)
        changed = block_executor(executor) if block else unblock_executor(executor)
        await uow.commit()
    done = ("blocked" if block else "unblocked") if changed else ""
    raise web.HTTPSeeOther(f"/executors/{executor_id}?done={done}")


async def save_skills(request: web.Request) -> web.StreamResponse:
    executor_id = int(request.match_info["id"])
    form = await posted_form(request)
    locale = panel_locale(request)
    chosen = ids_in(form.getall("skill", []))
    new_name = " ".join(str(form.get("new_skill", "")).split())
    capacity_text = str(form.get("capacity", "")).strip()
    capacity = parse_count(capacity_text, max_digits=6)
    # What was typed comes back in the form with the error (a bounded copy of it).
    typed: dict[str, object] = {
        "capacity": capacity_text[:20],
        "new_skill": new_name[:MAX_SKILL_NAME],
        "skills": chosen,
    }
    if capacity is None or capacity > MAX_CAPACITY:
        error = gettext("Capacity is a whole number from 0 to {limit}.", locale)
        return await _card_page(
            request, error=error.format(limit=MAX_CAPACITY), status=422, typed=typed
        )
    if len(new_name) > MAX_SKILL_NAME:
        error = gettext("The skill name is too long: at most {limit} characters.", locale)
        return await _card_page(
            request, error=error.format(limit=MAX_SKILL_NAME), status=422, typed=typed
        )
    async with request.app[SERVICES].uow() as uow:
        session = uow.session
        executor = await _executor(session, executor_id)
        skills = list(await session.scalars(select(Skill).where(Skill.id.in_(chosen))))
        if new_name:
            existing = await session.scalar(select(Skill).where(Skill.name == new_name))
            if existing is None:
                existing = Skill(name=new_name)
                session.add(existing)
            if existing not in skills:
                skills.append(existing)
        executor.skills = skills
        executor.capacity = capacity
        await uow.commit()
    raise web.HTTPSeeOther(f"/executors/{executor_id}?done=skills")


async def _executor(session: AsyncSession, executor_id: int) -> Executor:
    executor = await session.get(Executor, executor_id)
    if executor is None:
        raise web.HTTPNotFound(text="No such executor")
    return executor


async def _actor(session: AsyncSession, user_id: int) -> Actor:
    user = await session.get(User, user_id)
    assert user is not None  # the guard has just found this user
    return Actor.staff(user)
