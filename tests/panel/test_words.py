"""Words on the panel's pages are in the page's language: the seeded kinds' names, file
sizes and execution steps appeared in English ("Student paper", "12 KB") or as raw codes
("accepted → en_route")."""

from __future__ import annotations

from core.models import StaffRole
from tests import builders
from tests.panel.conftest import AddStaff, Panel
from tests.panel.orders_scene import sign_in_as
from webapp.panel.conv_format import file_size


async def test_a_seeded_kinds_name_is_translated_on_the_client_card(
    panel: Panel, add_staff: AddStaff
) -> None:
    async with panel.container.uow() as uow:
        order, _ = await builders.paper_order(uow.session)  # no title: the kind names it
        await uow.commit()
        client_id = order.client_id
    await sign_in_as(panel, add_staff, StaffRole.MANAGER)

    card = await (await panel.client.get(f"/clients/{client_id}")).text()

    orders = card[card.index('data-test="client-orders"') :]
    assert "Студенческая работа" in orders and "Student paper" not in orders


async def test_execution_steps_are_shown_by_their_labels_on_the_kinds_page(
    panel: Panel, add_staff: AddStaff
) -> None:
    await sign_in_as(panel, add_staff, StaffRole.OWNER)

    page = await (await panel.client.get("/settings/kinds")).text()

    assert "Принят → В пути" in page
    assert "accepted → en_route" not in page


def test_file_sizes_are_written_in_the_pages_language() -> None:
    assert [file_size(n, "ru") for n in (10, 1536, 1_572_864)] == ["10 Б", "2 КБ", "1,5 МБ"]
    assert [file_size(n, "en") for n in (10, 1536, 1_572_864)] == ["10 B", "2 KB", "1.5 MB"]
