"""A demo tenant, seeded through the HTTP API only (what `make up` calls): users, French and English
clients in EUR, a few hundred items (paid, due, overdue), disputes in follow-ups and a promise to pay.

Idempotent: every write is an upsert the service recognises as unchanged, and the dispute scenarios run
only for a client that has no open action yet, so a second call changes nothing. The token must be an
admin of the demo tenant.
"""

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx

COMPANY = {"name": "Acme Industries", "email": "credit@acme.example", "phone": "+33 1 00 00 00 00",
           "address": "1 rue de la Paix, 75002 Paris"}
USERS = {
    "jean.martin": ("Jean Martin", ["collector"]),
    "emma.wilson": ("Emma Wilson", ["collector"]),
    "claire.dubois": ("Claire Dubois", ["credit_manager"]),
    "sam.sales": ("Sam Sales", ["collector"]),
}
CLIENTS = [  # id, name, language, collector, items
    ("FR-1001", "Dupont Matériaux SA", "fr", "jean.martin", 90),
    ("FR-1002", "Boulangeries Lefèvre", "fr", "jean.martin", 60),
    ("EN-2001", "Smith & Sons Ltd", "en", "emma.wilson", 80),
    ("EN-2002", "Northwind Traders", "en", "emma.wilson", 70),
]
TEMPLATES = [
    {"name": "First reminder", "type": "email", "audience": "client", "variants": {
        "fr": {"subject": "Relance — factures échues #client_name",
               "body": "Bonjour #contact_name,\n\nSauf erreur de notre part, les factures suivantes restent dues :\n"
                       "#items_list_selected\nTotal : #items_amount_selected\n\nCordialement,\n#collector_name"},
        "en": {"subject": "Reminder — overdue invoices #client_name",
               "body": "Dear #contact_name,\n\nOur records show these invoices are still open:\n"
                       "#items_list_selected\nTotal: #items_amount_selected\n\nKind regards,\n#collector_name"}}},
    {"name": "Ask sales to validate a credit note", "type": "email", "audience": "internal", "variants": {
        "en": {"subject": "Credit note for #client_name?",
               "body": "Hello,\n#client_name disputes #items_count_selected invoice(s) (#items_amount_selected).\n"
                       "Please review the case: #link_url"}}},
]


def _items(client_id: str, count: int, today: date) -> list[dict[str, str]]:
    """A stable mix per client (seeded by its id): paid, partly paid, due soon, overdue by up to 120 days."""
    rng = random.Random(client_id)
    rows = []
    for n in range(1, count + 1):
        issue = today - timedelta(days=rng.randint(20, 150))
        due = issue + timedelta(days=rng.choice((30, 45, 60)))
        amount = Decimal(rng.randint(12_000, 950_000)) / 100
        roll = rng.random()
        open_amount = Decimal(0) if roll < 0.2 else (amount / 2).quantize(Decimal("0.01")) if roll < 0.3 else amount
        rows.append({"item_id": f"{client_id}-INV-{n:04d}", "client_id": client_id, "number": f"INV-{n:04d}",
                     "kind": "invoice", "issue_date": issue.isoformat(), "due_date": due.isoformat(),
                     "amount": str(amount), "open_amount": str(open_amount), "currency": "EUR"})
    return rows


async def seed_demo_tenant(base_url: str, token: str, *, today: date) -> dict[str, Any]:
    """Create (or confirm) the demo tenant's data, dated from `today` (the service's day, so items are overdue
    by its clock); returns what is there and what this call added."""
    async with httpx.AsyncClient(base_url=base_url, timeout=120.0,
                                 headers={"Authorization": f"Bearer {token}"}) as http:
        summary: dict[str, Any] = {"clients": 0, "items_created": 0, "follow_ups_created": [],
                                   "templates_created": 0}
        await _call(http, "PUT", "/admin/settings", json={"company": COMPANY, "default_language": "en",
                                                          "internal_domains": ["acme.example"]})
        for user_id, (name, roles) in USERS.items():
            await _call(http, "PUT", f"/admin/users/{user_id}",
                        json={"name": name, "email": f"{user_id}@acme.example", "roles": roles})
        existing = {t["name"] for t in await _call(http, "GET", "/templates")}
        for template in TEMPLATES:
            if template["name"] not in existing:
                await _call(http, "POST", "/admin/templates", json=template)
                summary["templates_created"] += 1
        for client_id, name, language, collector, count in CLIENTS:
            await _call(http, "PUT", f"/clients/{client_id}", json=_client(client_id, name, language, collector))
            if not await _call(http, "GET", f"/clients/{client_id}/items?limit=1"):
                report = await _call(http, "POST", "/imports/items", json=_items(client_id, count, today))
                summary["items_created"] += report["created"] + report["closed"]
            summary["clients"] += 1
        for client_id, scenario in _SCENARIOS.items():
            if not await _call(http, "GET", f"/actions?client_id={client_id}&state=open"):
                summary["follow_ups_created"] += await scenario(http, client_id)
        summary["open_actions"] = len(await _call(http, "GET", "/actions?state=open&limit=1000"))
        return summary


def _client(client_id: str, name: str, language: str, collector: str) -> dict[str, Any]:
    domain = client_id.lower() + ".example"
    return {"number": client_id, "name": name, "language": language, "currency": "EUR", "collector_id": collector,
            "sales_manager_id": "sam.sales", "entity_id": "acme-fr" if language == "fr" else "acme-uk",
            "late_penalties": {"annual_rate": "0.10", "fixed_fee": "40"},
            "contacts": [{"contact_id": "ap", "name": "Accounts payable", "email": f"ap@{domain}", "is_primary": True,
                          "language": language}]}


async def _open_items(http: httpx.AsyncClient, client_id: str, count: int, *, overdue: bool = True) -> list[str]:
    items = await _call(http, "GET", f"/clients/{client_id}/items?open=true&held=false&overdue={str(overdue).lower()}")
    return [item["item_id"] for item in items[:count]]


async def _dispute(http: httpx.AsyncClient, client_id: str, status: str, count: int, comment: str,
                   **extra: Any) -> list[str]:
    item_ids = await _open_items(http, client_id, count)
    if not item_ids:
        return []
    result = await _call(http, "POST", "/wizard/change-status", json={
        "client_id": client_id, "item_ids": item_ids, "status_code": status, "comment": comment, **extra})
    return [result["action"]["action_id"]] if result.get("action") else []


async def _price_dispute(http: httpx.AsyncClient, client_id: str) -> list[str]:
    created = await _dispute(http, client_id, "price_dispute", 6, "Unit price differs from the framework contract")
    for action_id in created:
        await _call(http, "POST", f"/actions/{action_id}/comments",
                    json={"text": "Buyer sent the contract; asking sales to confirm the agreed price."})
    return created


async def _quality_dispute(http: httpx.AsyncClient, client_id: str) -> list[str]:
    return await _dispute(http, client_id, "quality_dispute", 4, "Damaged goods reported on delivery")


async def _promise(http: httpx.AsyncClient, client_id: str) -> list[str]:
    return await _dispute(http, client_id, "promise_to_pay", 3, "Promised payment by the end of the month")


async def _credit_note(http: httpx.AsyncClient, client_id: str) -> list[str]:
    return await _dispute(http, client_id, "credit_note_requested", 2, "Volume rebate not applied")


_SCENARIOS = {"FR-1001": _price_dispute, "EN-2001": _quality_dispute, "FR-1002": _promise,
              "EN-2002": _credit_note}


async def _call(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> Any:
    response = await http.request(method, url, **kwargs)
    if response.status_code >= 400:
        raise RuntimeError(f"demo seed: {method} {url} answered {response.status_code}: {response.text[:500]}")
    return response.json() if response.content else None
