"""The panel served by the real app (bootstrap + create_app) on each database backend, and a
client that signs staff in like a browser does (cookies, CSRF token from the page)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from core.models import StaffRole
from core.staff import create_user
from runtime.bootstrap import Container, bootstrap
from runtime.settings import load_settings
from webapp.app import create_app

PASSWORD = "correct-horse-battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Panel:
    """One browser: a cookie jar on the test server, signed in as at most one person."""

    client: TestClient[Any, Any]
    container: Container
    csrf: str = ""

    async def sign_in(self, email: str, password: str = PASSWORD) -> ClientResponse:
        form = await self.client.get("/login")
        token = csrf_in(await form.text())
        response = await self.client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": token},
            allow_redirects=False,
        )
        if response.status == 303:
            page = await self.client.get("/account/password")
            self.csrf = csrf_in(await page.text())
        return response

    async def post(
        self, path: str, data: dict[str, str] | None = None, **kw: Any
    ) -> ClientResponse:
        """A form post carrying the session's CSRF token, as the page's forms do."""
        return await self.client.post(
            path, data={"csrf_token": self.csrf, **(data or {})}, allow_redirects=False, **kw
        )


def csrf_in(html: str) -> str:
    match = _CSRF.search(html)
    assert match is not None, "no CSRF field on the page"
    return match[1]


@pytest.fixture
async def container(database_url: str, tmp_path: Path) -> AsyncIterator[Container]:
    settings = load_settings(
        {"PULT_DATABASE_URL": database_url, "PULT_DATA_DIR": str(tmp_path / "var")},
        env_file=None,
    )
    container = await bootstrap(settings)
    try:
        yield container
    finally:
        await container.close()


OpenPanel = Callable[[], AbstractAsyncContextManager[Panel]]


@pytest.fixture
def open_panel(container: Container) -> OpenPanel:
    """`async with open_panel() as panel:` a fresh browser on the same app and database."""

    @asynccontextmanager
    async def open_panel() -> AsyncIterator[Panel]:
        async with TestClient(TestServer(create_app(container))) as client:
            yield Panel(client, container)

    return open_panel


@pytest.fixture
async def panel(open_panel: OpenPanel) -> AsyncIterator[Panel]:
    async with open_panel() as panel:
        yield panel


AddStaff = Callable[..., Any]


@pytest.fixture
def add_staff(container: Container) -> AddStaff:
    """`user_id = await add_staff(StaffRole.MANAGER, "m@desk.example")`."""

    async def add_staff(
        role: StaffRole, email: str | None = None, *, name: str | None = None,
        temporary: bool = False,
    ) -> int:  # fmt: skip
        async with container.uow() as uow:
            user, _ = await create_user(
                uow.session, email or f"{role.value}@desk.example", name or role.value.title(),
                role, PASSWORD,
            )  # fmt: skip
            user.must_change_password = temporary
            await uow.commit()
            return user.id

    return add_staff
