"""Payment pages. For now the fake gateway's page, mounted only when the fake provider is
configured: GET shows the amount with Pay and Cancel buttons; POST plays the client's choice
on the fake gateway, then confirms the payment the way a gateway webhook does (by asking the
provider), and redirects back to the page, which now says how it ended."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from bots.payments import FakePaymentProvider, PaymentProviders
from bots.payments.fake import PAGE_PATH
from core.models import PaymentStatus
from core.payments import confirm_payment
from core.pricing import format_money
from core.uow import UnitOfWork
from webapp.keys import SERVICES
from webapp.locale import request_locale
from webapp.templating import render

ACTIONS = ("pay", "cancel")


def add_payment_routes(
    app: web.Application, providers: PaymentProviders, uow: Callable[[], UnitOfWork]
) -> None:
    """Mount the payment pages the configured providers need (none for manual payment)."""
    fake = providers.first(FakePaymentProvider)
    if fake is not None:
        pages = FakePaymentPage(fake, uow)
        app.router.add_get(PAGE_PATH, pages.show, name="pay_fake")
        app.router.add_post(PAGE_PATH, pages.submit, name="pay_fake_submit")


class FakePaymentPage:
    def __init__(self, fake: FakePaymentProvider, uow: Callable[[], UnitOfWork]) -> None:
        self._fake = fake
        self._uow = uow

    async def show(self, request: web.Request) -> web.Response:
        locale = request_locale(request, request.app[SERVICES].default_locale)
        payment = self._fake.get(request.match_info["external_id"])
        if payment is None:
            response = render(request, "pay_fake.html", locale, found=False)
            response.set_status(404)
            return response
        return render(
            request,
            "pay_fake.html",
            locale,
            found=True,
            status=payment.status.value,
            description=payment.request.description,
            amount=format_money(payment.request.amount, payment.request.currency, locale),
            return_url=payment.request.return_url,
        )

    async def submit(self, request: web.Request) -> web.StreamResponse:
        # No CSRF token: this page stands in for a third-party gateway's page, and the most a
        # forged POST can do is pay or cancel a fake payment, which is what the fake is for.
        # It is mounted only when the fake provider is configured, never with real money.
        external_id = request.match_info["external_id"]
        payment = self._fake.get(external_id)
        if payment is None:
            return await self.show(request)
        action = (await request.post()).get("action")
        if action not in ACTIONS:
            raise web.HTTPBadRequest(text="action must be pay or cancel")
        if payment.status is PaymentStatus.PENDING:
            (self._fake.succeed if action == "pay" else self._fake.cancel)(external_id)
        # Confirm even when the fake was settled before: a confirmation that failed last time
        # is retried, and one that succeeded is a no-op.
        async with self._uow() as uow:
            await confirm_payment(uow.session, self._fake, external_id)
            await uow.commit()
        raise web.HTTPSeeOther(request.rel_url)
