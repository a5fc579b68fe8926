"""Process roles: all-in-one (`pult run`), web only and worker only. Each runs until SIGINT
or SIGTERM and then shuts down in order: stop taking requests, let jobs finish, close."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from dataclasses import dataclass

from aiohttp import web

from core.i18n import gettext
from core.staff import ensure_owner
from runtime.bootstrap import Container, bootstrap
from runtime.errors import CommandError
from runtime.migrate import current_revision, head_revision, upgrade
from runtime.settings import Settings
from runtime.worker import run_worker
from webapp.app import create_app

# In-flight requests get this long to finish after a stop signal.
WEB_SHUTDOWN_TIMEOUT = 10.0

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Role:
    web: bool
    worker: bool
    migrate: bool

    @property
    def name(self) -> str:
        return "all-in-one" if self.web and self.worker else "web" if self.web else "worker"


ALL_IN_ONE = Role(web=True, worker=True, migrate=True)


async def serve(settings: Settings, role: Role) -> int:
    """Run `role` until a stop signal; 0 on a clean stop."""
    if role.migrate:
        await upgrade(settings.database_url)
    container = await bootstrap(settings)
    # What is loaded by now lives as long as the process: keep the collector off it. A full
    # collection over the app's modules stalls the loop for ~0.2 s, long enough to push a
    # paced send past its rate window (bench/fanout.py).
    gc.collect()
    gc.freeze()
    stop = _stop_on_signals()
    runner: web.AppRunner | None = None
    worker: asyncio.Task[None] | None = None
    try:
        if role.migrate:
            await announce_owner(container)
        else:
            await warn_if_schema_outdated(container)
        _say_telegram_mode(settings, role)
        if role.web:
            runner = await start_web(container)
        if role.worker:
            worker = asyncio.create_task(run_worker(container, stop))
        _say_running(settings, role)
        await stop.wait()
        log.info("stopping (%s)", role.name)
    finally:
        # Web first, so no new work arrives while the jobs wind down.
        stop.set()
        if runner is not None:
            await runner.cleanup()
        if worker is not None:
            await worker
        await container.close()
    return 0


async def announce_owner(container: Container) -> None:
    """Create the first owner on a fresh installation and show its one-time password once."""
    settings = container.settings
    locale = settings.locale
    async with container.uow() as uow:
        password = await ensure_owner(uow.session, settings.owner_email, gettext("Owner", locale))
        await uow.commit()
    if password is None:
        return
    lines = (
        gettext("An owner account was created. Sign in with:", locale),
        "  " + gettext("e-mail: {email}", locale).format(email=settings.owner_email),
        "  " + gettext("one-time password: {password}", locale).format(password=password),
        gettext("The password must be changed at the first sign-in.", locale),
    )
    print("\n".join(lines), flush=True)


async def warn_if_schema_outdated(container: Container) -> None:
    current, head = await current_revision(container.engine), head_revision()
    if current != head:
        log.warning(
            "database schema is at %s, the code expects %s: run `pult migrate`", current, head
        )


async def start_web(container: Container) -> web.AppRunner:
    """Serve the web app; in Telegram webhook mode, with the webhook route, which is then
    registered with Telegram once the app listens."""
    settings = container.settings
    telegram = container.telegram if settings.telegram_mode == "webhook" else None
    webhooks = [telegram.webhook_route()] if telegram is not None else []
    runner = web.AppRunner(
        create_app(container, webhooks=webhooks), shutdown_timeout=WEB_SHUTDOWN_TIMEOUT
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        message = gettext("Cannot listen on {host}:{port}: {reason}", settings.locale)
        raise CommandError(
            message.format(host=settings.http_host, port=settings.http_port, reason=exc.strerror)
        ) from None
    if telegram is not None:
        await telegram.register_webhook()  # only now: Telegram may deliver at once
    return runner


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


def _say_telegram_mode(settings: Settings, role: Role) -> None:
    mode = settings.telegram_mode
    if mode == "off":
        log.info("Telegram: off (PULT_TELEGRAM_TOKEN is not set)")
    elif mode == "polling" and not role.worker:
        log.info("Telegram: long polling runs in `pult worker`")
    elif mode == "webhook" and not role.web:
        log.info("Telegram: updates come to the webhook of `pult web`")


def _say_running(settings: Settings, role: Role) -> None:
    locale = settings.locale
    if role.web:
        message = gettext("Pult is running at {url}", locale).format(url=settings.base_url)
    else:
        message = gettext("Pult worker is running", locale)
    print(message, flush=True)
    print(gettext("Press Ctrl+C to stop.", locale), flush=True)
