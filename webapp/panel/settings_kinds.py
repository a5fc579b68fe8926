"""Settings: the order kinds editor. A kind's fields are what the bots' wizard asks (it
reads them from the database on every step), its execution steps and flags drive the order
lifecycle; core.kinds.check_kind says what may be saved."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.i18n import gettext
from core.kinds import GUARANTEE_DAYS_MAX, ROLES, STEP_LABELS, FieldType, check_kind
from core.models import Order, OrderKind, OrderStatus
from core.settings_store import PREPAYMENT_DEFAULT, get_setting
from webapp.access.guard import PanelRoutes
from webapp.access.permissions import Permission
from webapp.keys import SERVICES
from webapp.panel import kind_form
from webapp.panel.inputs import posted_form
from webapp.panel.kind_form import KindDraft, draft_from_form, draft_of
from webapp.panel.render import panel_locale
from webapp.panel.settings import settings_page

NEW = "new"


def add_kind_routes(panel: PanelRoutes) -> None:
    panel.get("/settings/kinds", kinds_list, Permission.SETTINGS, name="kinds")
    panel.get("/settings/kinds/new", kind_view, Permission.SETTINGS)
    panel.post("/settings/kinds/new", kind_save, Permission.SETTINGS)
    panel.get("/settings/kinds/{id:\\d+}", kind_view, Permission.SETTINGS, name="kind")
    panel.post("/settings/kinds/{id:\\d+}", kind_save, Permission.SETTINGS)


async def kinds_list(request: web.Request) -> web.StreamResponse:
    async with request.app[SERVICES].uow() as uow:
        kinds = list(
            await uow.session.scalars(select(OrderKind).order_by(OrderKind.position, OrderKind.id))
        )
        per_kind = select(Order.kind_id, func.count()).group_by(Order.kind_id)
        counts = {kind_id: count for kind_id, count in await uow.session.execute(per_kind)}
        uow.session.expunge_all()  # read-only: keep the loaded rows for the template
    return settings_page(request, "panel/settings/kinds.html", "kinds", kinds=kinds,
                         counts=counts)  # fmt: skip


async def kind_view(request: web.Request) -> web.StreamResponse:
    locale = panel_locale(request)
    async with request.app[SERVICES].uow() as uow:
        kind_id = _kind_id(request)
        if kind_id is None:
            percent = await get_setting(uow.session, PREPAYMENT_DEFAULT)
            draft = KindDraft(prepayment=str(percent), rows=[kind_form.FieldRow()])
        else:
            draft = draft_of(await _kind(uow.session, kind_id), locale)
    saved = request.query.get("saved") == "1"
    return _form(request, draft, kind_id, saved=saved)


async def kind_save(request: web.Request) -> web.StreamResponse:
    locale = panel_locale(request)
    form = await posted_form(request)
    draft = draft_from_form(form)
    kind_id = _kind_id(request)
    if form.get("action") == "add_field":
        draft.rows.append(kind_form.FieldRow())
        return _form(request, draft, kind_id)
    specs = kind_form.field_specs(draft, locale)
    prepayment = kind_form.whole(draft.prepayment) if draft.prepayment else None
    guarantee = kind_form.whole(draft.guarantee_days or "0")
    steps = kind_form.steps_of(draft)
    if draft.prepayment and prepayment is None:
        draft.errors.append(gettext("The prepayment is a percent from 0 to 100.", locale))
    if guarantee is None:
        draft.errors.append(
            gettext("The guarantee period is from 0 to {limit} days.", locale).format(
                limit=GUARANTEE_DAYS_MAX
            )
        )
    async with request.app[SERVICES].uow() as uow:
        kind = await _kind(uow.session, kind_id) if kind_id is not None else None
        if specs is not None and not draft.errors:
            name = kind_form.kind_name(draft, locale)
            problems = check_kind(name, specs, steps, prepayment, guarantee or 0)
            kept = kind_form.kept_rows(draft)
            for problem in problems:
                target = kept[problem.field].errors if problem.field is not None else draft.errors
                target.append(problem.text(locale))
            if kind is not None:
                draft.errors += await _steps_in_use(uow.session, kind, steps, locale)
        if specs is None or draft.errors or any(row.errors for row in draft.rows):
            return _form(request, draft, kind_id, status=422)
        if kind is None:
            kind = OrderKind(code=await _new_code(uow.session), position=await _last(uow.session))
            uow.session.add(kind)
        kind.name = kind_form.kind_name(draft, locale)
        kind.fields = [spec.to_json() for spec in specs]
        kind.execution_steps = steps
        kind.prepayment_percent = prepayment
        kind.guarantee_days = guarantee or 0
        kind.uses_exchange = draft.uses_exchange
        kind.needs_review = draft.needs_review
        kind.is_active = draft.is_active
        await uow.session.flush()
        saved_id = kind.id
        await uow.commit()
    raise web.HTTPSeeOther(f"/settings/kinds/{saved_id}?saved=1")


def _form(
    request: web.Request, draft: KindDraft, kind_id: int | None, *, saved: bool = False,
    status: int = 200,
) -> web.Response:  # fmt: skip
    return settings_page(
        request, "panel/settings/kind.html", "kinds", draft=draft, kind_id=kind_id,
        saved=saved, types=kind_form.TYPE_LABELS, roles=ROLES, field_roles=kind_form.ROLE_LABELS,
        step_labels=STEP_LABELS, FieldType=FieldType, status=status,
    )  # fmt: skip


async def _steps_in_use(
    session: AsyncSession, kind: OrderKind, steps: list[str], locale: str
) -> list[str]:
    """Orders standing at a step the edit removes would be stranded: refuse."""
    in_use = await session.scalars(
        select(Order.step)
        .where(
            Order.kind_id == kind.id,
            Order.status == OrderStatus.IN_PROGRESS,
            Order.step.is_not(None),
            Order.step.not_in(steps) if steps else Order.step.is_not(None),
        )
        .distinct()
    )
    message = gettext("Orders in work are at the step {step}: keep it.", locale)
    return [message.format(step=step) for step in in_use]


def _kind_id(request: web.Request) -> int | None:
    value = request.match_info.get("id")
    return int(value) if value is not None else None


async def _kind(session: AsyncSession, kind_id: int) -> OrderKind:
    kind = await session.get(OrderKind, kind_id)
    if kind is None:
        raise web.HTTPNotFound(text="No such order kind")
    return kind


async def _new_code(session: AsyncSession) -> str:
    number = int(await session.scalar(select(func.count(OrderKind.id))) or 0) + 1
    while await session.scalar(select(OrderKind.id).where(OrderKind.code == f"kind_{number}")):
        number += 1
    return f"kind_{number}"


async def _last(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.max(OrderKind.position))) or 0) + 1
