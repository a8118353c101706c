"""The cross-service rules, on what `sources.read_tenant` read: holds, emails, indicators."""

from collections import defaultdict
from decimal import Decimal
from typing import Any

from devstack.check.model import Difference
from devstack.check.sources import TenantView

# The KPIs a recompute from followups' items and actions gives exactly (ages and DSO depend on "now").
COUNTS = ("open_items", "open_disputes", "promises_pending_count", "held_in_follow_ups_count")
AMOUNTS = ("total_outstanding", "disputed_outstanding", "promises_pending_amount", "held_in_follow_ups_amount")


def holds(tenant_id: str, view: TenantView) -> list[Difference]:
    """Every open item held by an open action is paused for that action in dunning, and no other item is."""
    held_by = {item_id: action["action_id"] for action in view.actions if action.get("state") == "open"
               for item_id in action.get("item_ids", [])}
    open_ids = {item["item_id"] for items in view.items.values() for item in items if Decimal(item["open_amount"])}
    differences = []
    for client_id, lines in sorted(view.dunning_items.items()):
        for line in lines:
            item_id, paused_for = line["item_id"], line.get("held_by_action_id")
            expected = held_by.get(item_id) if item_id in open_ids else None
            if paused_for == expected:
                continue
            if expected is None:
                detail = f"paused in dunning for action {paused_for} but held by no open action"
            elif paused_for is None:
                detail = f"held by open action {expected} but not paused in dunning"
            else:
                detail = f"held by open action {expected} but paused in dunning for {paused_for}"
            differences.append(Difference("hold", tenant_id, f"client {client_id}: item {detail}",
                                          tuple(i for i in (item_id, expected, paused_for) if i)))
    return differences


def emails(tenant_id: str, view: TenantView) -> list[Difference]:
    """Every email requested was sent exactly once, or failed with its reason."""
    by_request: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for send in view.sends:
        by_request[send["request_id"]].append(send)
    differences = []
    for request_id, asked_by in sorted(view.requested_emails.items()):
        sends = by_request.get(request_id, [])
        if not sends:
            differences.append(Difference("email-missing", tenant_id, f"requested by {asked_by}, not in the "
                                          "mailer's ledger", (request_id,)))
    for request_id, sends in sorted(by_request.items()):
        differences += _one_request(tenant_id, request_id, sends)
    return differences


def _one_request(tenant_id: str, request_id: str, sends: list[dict[str, Any]]) -> list[Difference]:
    send_ids = tuple(send["send_id"] for send in sends)
    sent = sum(1 for send in sends for entry in send.get("history", []) if entry["state"] == "sent")
    if sent > 1:
        return [Difference("email-sent-twice", tenant_id, f"sent {sent} times in the mailer's ledger",
                           (request_id, *send_ids))]
    if len(sends) > 1:
        return [Difference("email-duplicated", tenant_id, f"{len(sends)} ledger rows for one request",
                           (request_id, *send_ids))]
    send = sends[0]
    if send["state"] == "sent":
        return []
    if send["state"] == "failed" and (send.get("failure") or {}).get("reason"):
        return []  # reported failed with its reason: `make check` lists these apart
    reason = (send.get("failure") or {}).get("reason") or "no reason recorded"
    return [Difference("email-not-sent", tenant_id, f"{send['state']}: {reason}", (request_id, *send_ids))]


def failed_emails(view: TenantView) -> list[str]:
    """The failed sends with their reason (not differences: the system reported them)."""
    return [f"{send['request_id']} ({send['send_id']}): {send['failure']['reason']}" for send in view.sends
            if send["state"] == "failed" and (send.get("failure") or {}).get("reason")]


def indicators(tenant_id: str, view: TenantView) -> list[Difference]:
    """Each client's and the tenant's KPIs equal a recompute from followups' items, statuses and actions."""
    differences = []
    total: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    follow_ups_total = 0
    for client_id, items in sorted(view.items.items()):
        expected = recompute(items, view.statuses)
        follow_ups = sum(1 for a in view.actions if a.get("client_id") == client_id and a.get("type") == "follow_up"
                         and a.get("state") == "open")
        follow_ups_total += follow_ups
        for currency, figures in expected.items():
            for name, value in figures.items():
                total[currency][name] += value
        differences += _compare(tenant_id, f"client {client_id}", expected, follow_ups, view.kpis.get(client_id),
                                (client_id,))
    differences += _compare(tenant_id, "tenant", total, follow_ups_total, view.kpis.get("tenant"), ())
    return differences


def recompute(items: list[dict[str, Any]], statuses: dict[str, dict[str, Any]]) -> dict[str, dict[str, Decimal]]:
    """The KPIs' sums per currency, by the rules of services/indicators/domain/facts.py, from the items."""
    figures: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for item in items:
        amount = Decimal(item["open_amount"])
        if not amount:
            continue
        status = statuses.get(item.get("status_code") or "")
        adds = {"open_items": 1, "total_outstanding": amount}
        if status and status.get("counts_as_dispute") and item.get("held_by_action_id"):
            adds |= {"open_disputes": 1, "disputed_outstanding": amount}
        if status and status.get("category") == "promise":
            adds |= {"promises_pending_count": 1, "promises_pending_amount": amount}
        if item.get("held_by_action_type") == "follow_up":
            adds |= {"held_in_follow_ups_count": 1, "held_in_follow_ups_amount": amount}
        for name, value in adds.items():
            figures[item["currency"]][name] += Decimal(value)
    return figures


def _compare(tenant_id: str, scope: str, expected: dict[str, dict[str, Decimal]], follow_ups: int,
             kpis: dict[str, Any] | None, ids: tuple[str, ...]) -> list[Difference]:
    shown = {c["currency"]: c for c in (kpis or {}).get("currencies", [])}
    wrong = []
    for currency in sorted(set(expected) | set(shown)):
        for name in COUNTS + AMOUNTS:
            want = expected.get(currency, {}).get(name, Decimal(0))
            got = Decimal(str(shown.get(currency, {}).get(name, 0)))
            if want != got:
                wrong.append(f"{name} {currency} is {got}, recomputed {want}")
    got_follow_ups = (kpis or {}).get("open_follow_ups", 0)
    if got_follow_ups != follow_ups:
        wrong.append(f"open_follow_ups is {got_follow_ups}, recomputed {follow_ups}")
    return [Difference("indicator", tenant_id, f"{scope}: {line}", ids) for line in wrong]
