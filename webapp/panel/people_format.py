"""How the people and settings pages write things: moments in the installation's clock,
money in roubles, ratings, status names of executors and orders."""

from __future__ import annotations

from core.i18n import N_
from core.models import ExecutorStatus
from webapp.panel.conv_format import channel_badge
from webapp.panel.formatting import PageFormat

EXECUTOR_STATUS_LABELS = {
    ExecutorStatus.APPLICANT: N_("Applications"),
    ExecutorStatus.ACTIVE: N_("Active"),
    ExecutorStatus.PAUSED: N_("Paused"),
    ExecutorStatus.BLOCKED: N_("Blocked"),
}
# One executor's standing (the card's badge); the tabs above use the plural list names.
STANDING_LABELS = {
    ExecutorStatus.APPLICANT: N_("Applicant"),
    ExecutorStatus.ACTIVE: N_("Works with us"),
    ExecutorStatus.PAUSED: N_("Feed paused"),
    ExecutorStatus.BLOCKED: N_("Blocked executor"),
}


class Format(PageFormat):
    """Handed to templates as `fmt`: `fmt.when(moment)`, `fmt.money(amount)`, ..."""

    def rating(self, value: float | None) -> str:
        return (
            "—"
            if value is None
            else f"{value:.1f}".replace(".", "," if self.locale == "ru" else ".")
        )

    def percent_bp(self, basis_points: int) -> str:
        text = f"{basis_points / 100:g}"
        return (text.replace(".", ",") if self.locale == "ru" else text) + " %"

    def executor_status(self, status: ExecutorStatus | str) -> str:
        return self.t(EXECUTOR_STATUS_LABELS[ExecutorStatus(status)])

    def standing(self, status: ExecutorStatus | str) -> str:
        return self.t(STANDING_LABELS[ExecutorStatus(status)])

    def channel(self, name: str | None) -> str:
        if not name:
            return "—"
        return self.t(channel_badge(name).title)
