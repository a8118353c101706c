"""What the case page shows, read for one opened link: the client, the items in scope with amounts, due dates,
days late, statuses and their history, the action's activity and documents, and the forms the link allows.
Values are formatted in the reader's language here; the templates only lay them out (and escape them)."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel.dates import format_date, format_datetime

from shared.contracts.values import ActorKind, ItemKind
from shared.links import LinkOperation
from shared.money import DEBT_KINDS, babel_locale, days_late, format_money
from services.followups.domain.items import open_total
from services.followups.domain.statuses import ItemStatus
from services.followups.handlers.colleague import OpenedLink
from services.followups.handlers.context import Deps

ACTIVITY_KINDS = frozenset({"created", "comment_added", "item_status_changed", "attachment_added", "reply_received",
                            "rescheduled", "reassigned", "items_added", "items_removed", "closed",
                            "reschedule_proposed"})
ACTIVITY_SHOWN = 200


@dataclass
class CaseView:
    """Everything the case template needs, already formatted."""

    language: str
    company: str
    client: dict[str, str]
    action: dict[str, str] | None
    items: list[dict[str, Any]]
    totals: list[str]
    activity: list[dict[str, Any]]
    documents: list[dict[str, Any]]
    statuses: list[dict[str, str]]
    recipient: str
    expires: str
    read_only: bool
    can: dict[str, bool] = field(default_factory=dict)
    max_upload: str = ""


class Formats:
    """Dates, times and amounts in the reader's language."""

    def __init__(self, language: str) -> None:
        self.locale = babel_locale(language)
        self.language = language

    def day(self, value: date | str | None) -> str:
        if not value:
            return ""
        day = date.fromisoformat(value) if isinstance(value, str) else value
        return format_date(day, format="medium", locale=self.locale)

    def moment(self, value: datetime) -> str:
        return format_datetime(value, format="short", locale=self.locale)

    def money(self, amount: Decimal, currency: str) -> str:
        return format_money(amount, currency, self.language)


async def case_view(opened: OpenedLink, *, language: str, deps: Deps) -> CaseView:
    tenant, store, f = opened.tenant_id, deps.read, Formats(language)
    statuses = {s.code: s for s in await store.statuses.all(tenant)}
    settings = await store.tenants.settings(tenant)
    label = _labeller(statuses, language)
    today = deps.clock.today()
    actionable = {item.item_id for item in opened.actionable}
    records = await store.qualifications.of_items(tenant, opened.client.client_id,
                                                  [item.item_id for item in opened.items]) if opened.items else []
    per_item: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        for position, item_id in enumerate(record["item_ids"]):
            before = record["previous_status_codes"][position]
            per_item[item_id].append({
                "at": f.moment(record["at"]), "who": _who(record["actor"]),
                "change": (label(before), label(record.get("status_code") or before))
                if record.get("status_code") and record.get("status_code") != before else None,
                "comment": record.get("comment")})
    items = [{"item_id": item.item_id, "number": item.number, "due": f.day(item.due_date),
              "days_late": days_late(item.due_date, today) if item.kind in DEBT_KINDS else "",
              "late": item.kind in DEBT_KINDS and days_late(item.due_date, today) > 0,
              "amount": f.money(item.amount, item.currency), "open": f.money(item.open_amount, item.currency),
              "closed": item.closed, "credit": item.kind == ItemKind.CREDIT_NOTE,
              "actionable": item.item_id in actionable,
              "status": label(item.status_code), "history": per_item.get(item.item_id, [])}
             for item in opened.items]
    action = opened.action
    return CaseView(
        language=language, company=settings.company.name if settings.company else "",
        client={"name": opened.client.name, "number": opened.client.number},
        action={"name": action.name, "type": action.type.value, "owner": action.owner.name if action.owner else "",
                "next_step": f.day(action.scheduled_for), "state": action.state.value} if action else None,
        items=items, totals=[f.money(amount, currency) for currency, amount in open_total(opened.items).items()],
        activity=await _activity(opened, f, label, deps=deps),
        documents=[{"attachment_id": doc["attachment_id"], "filename": doc["filename"], "size": size_text(doc["size"]),
                    "at": f.moment(doc["uploaded_at"]), "who": _who(doc.get("uploaded_by") or {})}
                   for doc in (await store.attachments.of_action(tenant, action.action_id) if action else [])],
        statuses=[{"code": code, "label": label(code)} for code in opened.grant.statuses],
        recipient=opened.record.recipient, expires=f.day(opened.record.expires_at.date()),
        read_only=opened.state.value != "active",
        can={operation.value: opened.can(operation) for operation in LinkOperation},
        max_upload=size_text(deps.settings.attachment_max_bytes))


async def _activity(opened: OpenedLink, f: Formats, label: Any, *, deps: Deps) -> list[dict[str, Any]]:
    if opened.action is None:
        return []
    entries = await deps.read.history.of_action(opened.tenant_id, opened.action.action_id, limit=1000)
    shown = [entry for entry in entries if entry.kind.value in ACTIVITY_KINDS][-ACTIVITY_SHOWN:]
    activity = []
    for entry in reversed(shown):  # newest first
        detail = entry.data.get("filename") or ""
        if entry.kind.value == "item_status_changed":
            detail = f"{label(entry.data.get('status_code'))} ({len(entry.data.get('item_ids') or [])})"
        elif entry.kind.value in ("rescheduled", "reschedule_proposed"):
            detail = f.day(entry.after.get("scheduled_for"))
        activity.append({"kind": entry.kind.value, "at": f.moment(entry.at), "who": _who(entry.actor.model_dump()),
                         "text": entry.text, "detail": detail, "attachment_id": entry.data.get("attachment_id")})
    return activity


def _labeller(statuses: dict[str, ItemStatus], language: str) -> Any:
    def label(code: str | None) -> str:
        if not code:
            return "—"
        status = statuses.get(code)
        return status.label(language) if status else code
    return label


def _who(actor: dict[str, Any]) -> str:
    if actor.get("kind") == ActorKind.SYSTEM:
        return "system"
    return actor.get("name") or actor.get("email") or actor.get("id") or ""


def size_text(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")
    return f"{max(limit // 1024, 1)} KB"
