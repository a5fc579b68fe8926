"""The panel in a real browser: Pult served on a free loopback port with its worker running
(the outbox dispatcher delivers through a loopback test channel), and Debian's chromium
driven by Playwright (no browser download; `.ci/run` installs the `chromium` package).

    async def test_x(live: LivePanel) -> None:
        page = await live.signed_in_page(StaffRole.MANAGER)
        await page.goto(live.url + "inbox")

Screenshots: `await live.screenshot(page, "inbox")` writes docs/screenshots/inbox.png only
when PULT_SCREENSHOTS=1 (`make screenshots`), so a test run leaves the tree unchanged."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from core.models import StaffRole
from core.staff import create_user
from runtime.bootstrap import Container, bootstrap
from runtime.migrate import upgrade
from runtime.settings import load_settings
from runtime.worker import run_worker
from tests.conftest import _reset_postgres as reset_postgres
from tests.fakes.loopback import LoopbackChannel
from webapp.app import create_app

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct-horse-battery"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Playwright's own waits (clicks, expectations) give up after this many milliseconds.
TIMEOUT_MS = 10_000


@dataclass
class LivePanel:
    url: str  # ends with "/"
    container: Container
    loopback: LoopbackChannel
    browser: Browser
    _contexts: list[BrowserContext] = field(default_factory=list)

    async def add_staff(
        self, role: StaffRole, email: str | None = None, name: str | None = None
    ) -> str:
        """A staff account with PASSWORD; returns its e-mail."""
        address = email or f"{role.value}@desk.example"
        async with self.container.uow() as uow:
            await create_user(uow.session, address, name or role.value.title(), role, PASSWORD)
            await uow.commit()
        return address

    async def new_page(self, *, phone: bool = False, locale: str = "ru-RU") -> Page:
        context = await self.browser.new_context(
            viewport=PHONE if phone else DESKTOP, locale=locale,
            device_scale_factor=2 if phone else 1, is_mobile=phone, has_touch=phone,
        )  # fmt: skip
        context.set_default_timeout(TIMEOUT_MS)
        self._contexts.append(context)
        return await context.new_page()

    async def sign_in(
        self, page: Page, email: str, password: str = PASSWORD, *, succeeds: bool = True
    ) -> None:
        await page.goto(self.url + "login")
        await page.fill("input[name=email]", email)
        await page.fill("input[name=password]", password)
        await page.click("button[type=submit]")
        if succeeds:
            await page.wait_for_url(lambda url: "/login" not in url)
        else:
            await page.wait_for_load_state()

    async def signed_in_page(
        self, role: StaffRole = StaffRole.MANAGER, *, phone: bool = False, email: str | None = None
    ) -> Page:
        address = await self.add_staff(role, email)
        page = await self.new_page(phone=phone)
        await self.sign_in(page, address)
        return page

    async def screenshot(self, page: Page, name: str) -> None:
        if os.environ.get("PULT_SCREENSHOTS") != "1":
            return
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)

    async def close(self) -> None:
        for context in self._contexts:
            await context.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def chromium() -> str:
    if not Path(CHROMIUM).is_file():
        pytest.skip("install Debian's chromium (apt-get install chromium) for browser tests")
    return CHROMIUM


@pytest.fixture
async def live(tmp_path: Path, chromium: str) -> AsyncIterator[LivePanel]:
    """An all-in-one Pult on the embedded default (SQLite, in-memory bus) with a browser."""
    async with serve_live(tmp_path, {}) as panel:
        yield panel


@pytest.fixture
async def live_postgres(
    tmp_path: Path, postgres_url: str, redis_url: str, chromium: str
) -> AsyncIterator[LivePanel]:
    """The same on PostgreSQL with the Redis bus, as a production installation runs."""
    await reset_postgres(postgres_url)
    env = {"PULT_DATABASE_URL": postgres_url, "PULT_REDIS_URL": redis_url}
    async with serve_live(tmp_path, env) as panel:
        yield panel


@asynccontextmanager
async def serve_live(tmp_path: Path, env: dict[str, str]) -> AsyncIterator[LivePanel]:
    port = _free_port()
    settings = load_settings(
        {"PULT_DATA_DIR": str(tmp_path / "var"), "PULT_HTTP_PORT": str(port),
         "PULT_HTTP_HOST": "127.0.0.1", **env},
        env_file=None,
    )  # fmt: skip
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await upgrade(settings.database_url)
    container = await bootstrap(settings)
    loopback = LoopbackChannel()
    container.channels.add(loopback)
    runner = web.AppRunner(create_app(container), shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(container, stop))
    playwright = await async_playwright().start()
    browser = await playwright.chromium.launch(
        executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage", "--lang=ru-RU"]
    )
    panel = LivePanel(f"http://127.0.0.1:{port}/", container, loopback, browser)
    try:
        yield panel
    finally:
        await panel.close()
        await browser.close()
        await playwright.stop()
        stop.set()
        await worker
        await runner.cleanup()
        await container.close()
