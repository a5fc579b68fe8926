"""How the order pages write things: money, dates in the installation's clock, deadline
warnings, status and tab names, action buttons and the history in words."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core.i18n import N_
from core.lifecycle import Action
from core.models import ActorRole, OrderStatus, PaymentMethod
from webapp.panel.formatting import PageFormat
from webapp.queries import OrderTab

S = OrderStatus
# A deadline this close is shown as at risk.
AT_RISK = timedelta(hours=24)
# Orders past these statuses no longer race their deadline.
_FINISHED = frozenset({S.READY, S.DELIVERED, S.CLOSED, S.CANCELLED})

TAB_LABELS = {
    OrderTab.NEW: N_("New orders"),
    OrderTab.EVALUATING: N_("Evaluating"),
    OrderTab.AWAITING_PAYMENT: N_("Awaiting payment"),
    OrderTab.ON_EXCHANGE: N_("On the exchange"),
    OrderTab.IN_WORK: N_("In work"),
    OrderTab.REVIEW: N_("Review"),
    OrderTab.READY: N_("Ready to hand over"),
    OrderTab.ARCHIVE: N_("Archive"),
}

# Button texts of the status actions staff take in the panel.
ACTION_LABELS = {
    Action.SUBMIT: N_("Submit the draft"),
    Action.START_EVALUATION: N_("Start evaluation"),
    Action.QUOTE: N_("Set the price"),
    Action.ACCEPT_QUOTE: N_("The client accepted the price"),
    Action.REOPEN_QUOTE: N_("Reopen the price"),
    Action.MARK_PAID: N_("Mark as paid"),
    Action.PUBLISH: N_("Put on the exchange"),
    Action.WITHDRAW: N_("Take off the exchange"),
    Action.ASSIGN: N_("Assign an executor"),
    Action.RELEASE: N_("Take the job from the executor"),
    Action.START_WORK: N_("Start the work"),
    Action.ADVANCE: N_("Next step"),
    Action.SUBMIT_RESULT: N_("The result is submitted"),
    Action.APPROVE: N_("Approve the result"),
    Action.RETURN_FOR_REVISION: N_("Return for revision"),
    Action.RESUME: N_("Resume the work"),
    Action.DELIVER: N_("Deliver to the client"),
    Action.REQUEST_REVISION: N_("Reopen for a revision"),
    Action.ACCEPT_REVISION: N_("Accept the revision request"),
    Action.DECLINE_REVISION: N_("Decline the revision request"),
    Action.CLOSE: N_("Close the order"),
    Action.CANCEL: N_("Cancel the order"),
    Action.TAKE: N_("Take the job"),
    Action.DECLINE_JOB: N_("Decline the job"),
}

# What happened, for the history.
EVENT_LABELS = {
    "create": N_("Order created"),
    "edit_fields": N_("Order details edited"),
    "change_manager": N_("Manager changed"),
    "rate": N_("Rated by the client"),
    Action.SUBMIT.value: N_("Draft submitted"),
    Action.START_EVALUATION.value: N_("Evaluation started"),
    Action.QUOTE.value: N_("Price set"),
    Action.ACCEPT_QUOTE.value: N_("Price accepted"),
    Action.REOPEN_QUOTE.value: N_("Price reopened"),
    Action.MARK_PAID.value: N_("Payment received"),
    Action.PUBLISH.value: N_("Put on the exchange"),
    Action.WITHDRAW.value: N_("Taken off the exchange"),
    Action.TAKE.value: N_("Job taken by an executor"),
    Action.ASSIGN.value: N_("Executor assigned"),
    Action.DECLINE_JOB.value: N_("Executor declined the job"),
    Action.RELEASE.value: N_("Job taken from the executor"),
    Action.START_WORK.value: N_("Work started"),
    Action.ADVANCE.value: N_("Next step"),
    Action.SUBMIT_RESULT.value: N_("Result submitted"),
    Action.APPROVE.value: N_("Result approved"),
    Action.RETURN_FOR_REVISION.value: N_("Returned for revision"),
    Action.RESUME.value: N_("Work resumed"),
    Action.DELIVER.value: N_("Delivered to the client"),
    Action.REQUEST_REVISION.value: N_("Revision requested"),
    Action.ACCEPT_REVISION.value: N_("Revision request accepted"),
    Action.DECLINE_REVISION.value: N_("Revision request declined"),
    Action.CLOSE.value: N_("Order closed"),
    Action.CANCEL.value: N_("Order cancelled"),
}

ACTOR_LABELS = {
    ActorRole.CLIENT: N_("Client"),
    ActorRole.EXECUTOR: N_("Executor"),
    ActorRole.MANAGER: N_("Manager"),
    ActorRole.OPERATOR: N_("Operator"),
    ActorRole.OWNER: N_("Owner"),
    ActorRole.SYSTEM: N_("System"),
}

METHOD_LABELS = {
    PaymentMethod.CASH: N_("Cash"),
    PaymentMethod.CARD: N_("Card"),
    PaymentMethod.BANK_TRANSFER: N_("Bank transfer"),
    PaymentMethod.GATEWAY: N_("Online payment"),
    PaymentMethod.BALANCE: N_("From the balance"),
}


class Formats(PageFormat):
    """The order pages' `fmt`: the shared formats plus deadlines, steps, actions, history."""

    def deadline_state(self, deadline: datetime | None, status: OrderStatus) -> str:
        """ "overdue", "soon" (within a day) or "" for an order still racing its deadline."""
        if deadline is None or status in _FINISHED:
            return ""
        if deadline < self.now:
            return "overdue"
        return "soon" if deadline - self.now <= AT_RISK else ""

    def ago(self, moment: datetime) -> str:
        """ "3 h", "2 d": how long something has been waiting."""
        minutes = max(0, int((self.now - moment).total_seconds() // 60))
        if minutes < 60:
            return self.t("{n} min").format(n=minutes)
        if minutes < 48 * 60:
            return self.t("{n} h").format(n=minutes // 60)
        return self.t("{n} d").format(n=minutes // (24 * 60))

    def event(self, action: str) -> str:
        label = EVENT_LABELS.get(action)
        return self.t(label) if label else action

    def actor(self, role: ActorRole, name: str | None) -> str:
        label = self.t(ACTOR_LABELS[role])
        return f"{label} {name}" if name else label

    def method(self, method: PaymentMethod) -> str:
        return self.t(METHOD_LABELS[method])

    def event_details(
        self, action: str, data: dict[str, Any], currency: str, labels: dict[str, str]
    ) -> str:
        """The few words worth keeping from an event's data (`labels`: field names)."""
        parts: list[str] = []
        if action == Action.QUOTE.value and data.get("client_price") is not None:
            parts.append(self.money(int(data["client_price"]), currency))
        if data.get("price") is not None:
            parts.append(self.money(int(data["price"]), currency))
        if action == Action.PUBLISH.value and data.get("fixed_price") is not None:
            parts.append(self.money(int(data["fixed_price"]), currency))
        if data.get("released"):
            parts.append(self.t("returned to the balance: {amount}").format(
                amount=self.money(int(data["released"]), currency)
            ))  # fmt: skip
        if action == "edit_fields" and isinstance(data.get("changed"), dict):
            parts.append(", ".join(labels.get(key, key) for key in sorted(data["changed"])))
        for key in ("comment", "reason"):
            if data.get(key):
                parts.append(str(data[key]))
        return " · ".join(parts)


BID_LABELS = {
    "active": N_("active"),
    "withdrawn": N_("withdrawn"),
    "won": N_("won"),
    "lost": N_("lost"),
}
PAYMENT_LABELS = {
    "pending": N_("pending"),
    "succeeded": N_("received"),
    "canceled": N_("canceled"),
    "refunded": N_("refunded"),
}
OPERATION_LABELS = {
    "top_up": N_("Money in"),
    "hold_prepayment": N_("Prepayment held"),
    "release_hold": N_("Hold released"),
    "charge": N_("Charged"),
    "reverse_charge": N_("Charge reversed"),
    "refund": N_("Refund"),
    "accrue_executor": N_("Owed to the executor"),
    "pay_executor": N_("Paid to the executor"),
    "cash_in": N_("Cash in"),
    "cash_out": N_("Cash out"),
    "settle_gateway": N_("Gateway settlement"),
}
ACCOUNT_LABELS = {
    "client_balance": N_("client balance"),
    "order_hold": N_("order hold"),
    "executor_payable": N_("owed to executor"),
    "revenue": N_("revenue"),
    "cash_desk": N_("cash desk"),
    "gateway_clearing": N_("gateway"),
    "other_income": N_("other income"),
    "expenses": N_("expenses"),
}
# Everything above, for templates: fmt.labels["bid"]["won"].
LABELS = {
    "bid_labels": BID_LABELS,
    "payment_labels": PAYMENT_LABELS,
    "operation_labels": OPERATION_LABELS,
    "account_labels": ACCOUNT_LABELS,
}
