"""Files in the panel: attached to a reply (stored, sent along through the loopback channel)
and downloaded under a safe name, with the sniffed type and no browser sniffing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from core.models import Client, StaffRole, StoredFile
from core.staff import create_user
from inbox.conversations import lead_conversation
from runtime.bootstrap import bootstrap
from runtime.settings import load_settings
from tests.panel.conftest import PASSWORD, AddStaff, Panel
from tests.panel.inbox_helpers import desk, dispatch, loopback, restrict_managers
from webapp.access.guard import CSRF_HEADER
from webapp.app import create_app

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _with_files(text: str, *files: tuple[str, bytes, str]) -> FormData:
    # Raw UTF-8 names in the part headers, as browsers send them.
    form = FormData(quote_fields=False)
    form.add_field("text", text)
    for name, data, declared in files:
        form.add_field("files", data, filename=name, content_type=declared)
    return form


async def test_a_reply_with_a_russian_named_file_is_sent_and_downloads_safely(
    panel: Panel, add_staff: AddStaff
) -> None:
    scene = await desk(panel.container, add_staff)
    channel = loopback(panel.container)
    assert (await panel.sign_in("maria@desk.example")).status == 303

    response = await panel.client.post(
        f"/conversations/{scene.thread_a}/reply",
        data=_with_files(
            "Методичка и схема",
            ("Методичка «Курсовая».pdf", PDF, "application/pdf"),
            ("схема.exe", PNG, "application/octet-stream"),
        ),
        headers={CSRF_HEADER: panel.csrf, "HX-Request": "true"},
    )
    thread = await response.text()
    assert response.status == 200, thread
    links = re.findall(r'<a href="/files/(\d+)"[^>]*>([^<]+)</a>', thread)
    assert [name for _, name in links] == ["Методичка «Курсовая».pdf", "схема.exe"]

    await dispatch(panel.container)
    (sent,) = channel.sent
    assert [(f.name, f.content_type) for f in sent.files] == [
        ("Методичка «Курсовая».pdf", "application/pdf"),
        ("схема.exe", "image/png"),
    ]

    pdf = await panel.client.get(f"/files/{links[0][0]}")
    assert pdf.status == 200 and await pdf.read() == PDF
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["X-Content-Type-Options"] == "nosniff"
    disposition = pdf.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="Metodichka _Kursovaya_.pdf"')
    encoded = disposition.split("filename*=UTF-8''")[1]
    assert unquote(encoded) == "Методичка «Курсовая».pdf"

    png = await panel.client.get(f"/files/{links[1][0]}")
    assert png.headers["Content-Type"] == "image/png"
    assert png.headers["Content-Disposition"].startswith("inline;")
    assert unquote(png.headers["Content-Disposition"].split("''")[1]) == "схема.png"


async def test_a_missing_file_or_another_managers_file_is_not_found(
    panel: Panel, add_staff: AddStaff
) -> None:
    scene = await desk(panel.container, add_staff)
    assert (await panel.sign_in("ivan@desk.example")).status == 303
    response = await panel.client.post(
        f"/conversations/{scene.thread_b}/note",
        data=_with_files("Счёт", ("счёт.pdf", PDF, "application/pdf")),
        headers={CSRF_HEADER: panel.csrf},
    )
    file_id = re.findall(r'<a href="/files/(\d+)"', await response.text())[0]
    assert (await panel.client.get(f"/files/{file_id}")).status == 200
    assert (await panel.client.get("/files/999999")).status == 404

    await restrict_managers(panel.container)
    await panel.client.post("/logout", data={"csrf_token": panel.csrf})
    assert (await panel.sign_in("maria@desk.example")).status == 303
    assert (await panel.client.get(f"/files/{file_id}")).status == 404


async def test_a_file_over_a_megabyte_streams_into_the_store(
    panel: Panel, add_staff: AddStaff
) -> None:
    scene = await desk(panel.container, add_staff)
    assert (await panel.sign_in("maria@desk.example")).status == 303
    big = PDF + b"0" * (3 * 1024 * 1024)  # over aiohttp's 1 MiB limit for whole bodies

    response = await panel.client.post(
        f"/conversations/{scene.thread_a}/note",
        data=_with_files("Большой файл", ("скан.pdf", big, "application/pdf")),
        headers={CSRF_HEADER: panel.csrf, "HX-Request": "true"},
    )

    assert response.status == 200
    file_id = re.findall(r'<a href="/files/(\d+)"', await response.text())[0]
    assert await (await panel.client.get(f"/files/{file_id}")).read() == big


@pytest.fixture
async def small_limit(database_url: str, tmp_path: Path) -> AsyncIterator[Panel]:
    """The panel of an installation that accepts files up to 1 MB."""
    settings = load_settings(
        {"PULT_DATABASE_URL": database_url, "PULT_DATA_DIR": str(tmp_path / "var"),
         "PULT_MAX_FILE_MB": "1"},
        env_file=None,
    )  # fmt: skip
    container = await bootstrap(settings)
    try:
        async with TestClient(TestServer(create_app(container))) as client:
            yield Panel(client, container)
    finally:
        await container.close()


async def test_a_file_over_the_limit_is_refused_and_the_text_kept(small_limit: Panel) -> None:
    panel = small_limit
    async with panel.container.sessions() as session:
        await create_user(session, "olga@desk.example", "Ольга", StaffRole.OWNER, PASSWORD)
        await session.commit()
    scene_thread = await _lead_thread(panel)
    assert (await panel.sign_in("olga@desk.example")).status == 303

    response = await panel.client.post(
        f"/conversations/{scene_thread}/note",
        data=_with_files("Вот скан", ("скан.pdf", PDF + b"0" * (1024 * 1024), "application/pdf")),
        headers={CSRF_HEADER: panel.csrf, "HX-Request": "true"},
    )

    thread = await response.text()
    assert response.status == 200 and "не более 1 МБ" in thread
    assert ">Вот скан</textarea>" in thread and "/files/" not in thread
    async with panel.container.sessions() as session:
        assert await session.scalar(select(func.count(StoredFile.id))) == 0


async def _lead_thread(panel: Panel) -> int:
    async with panel.container.sessions() as session:
        client = Client(name="Вера")
        session.add(client)
        await session.flush()
        lead = await lead_conversation(session, client.id)
        await session.commit()
        return lead.id
