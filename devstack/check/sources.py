"""Reads through the services' public HTTP APIs, one tenant at a time (paged where the API pages)."""

from dataclasses import dataclass
from typing import Any

import httpx

PAGE = 500


@dataclass
class TenantView:
    """What the checker read of one tenant: followups (the source), dunning, mailer, indicators."""

    clients: list[dict[str, Any]]
    items: dict[str, list[dict[str, Any]]]  # client id → followups' items
    actions: list[dict[str, Any]]
    statuses: dict[str, dict[str, Any]]
    dunning_items: dict[str, list[dict[str, Any]]]  # client id → where dunning has each item
    requested_emails: dict[str, str]  # request id → who asked ("followups action …", "dunning …")
    sends: list[dict[str, Any]]  # the mailer's ledger
    kpis: dict[str, dict[str, Any] | None]  # "tenant" or client id → the indicators' KPIs (None: no figures)


async def _paged(http: httpx.AsyncClient, url: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        page = await _get(http, url, params={**params, "skip": len(rows), "limit": PAGE})
        rows += page
        if len(page) < PAGE:
            return rows


async def _get(http: httpx.AsyncClient, url: str, params: dict[str, Any] | None = None) -> Any:
    response = await http.get(url, params=params)
    response.raise_for_status()
    return response.json()


async def read_tenant(urls: dict[str, str], token: str) -> TenantView:
    """Everything the checks compare, read through the four services' HTTP APIs."""
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30.0) as http:
        followups, dunning = urls["followups"], urls["dunning"]
        clients = await _paged(http, f"{followups}/clients")
        ids = [client["client_id"] for client in clients]
        items = {cid: await _paged(http, f"{followups}/clients/{cid}/items") for cid in ids}
        actions = await _paged(http, f"{followups}/actions")  # the list leaves item ids out: read the open ones
        actions = [await _get(http, f"{followups}/actions/{a['action_id']}") if a.get("state") == "open" else a
                   for a in actions]
        statuses = {s["code"]: s for s in await _get(http, f"{followups}/statuses")}
        dunning_items = {cid: await _get(http, f"{dunning}/clients/{cid}/items") for cid in ids}
        requested = await _requested_emails(http, urls, ids, actions)
        sends: list[dict[str, Any]] = []
        for cid in ids:
            sends += await _get(http, f"{urls['mailer']}/sends", params={"client_id": cid, "limit": PAGE})
        kpis = {"tenant": await _kpis(http, urls["indicators"], {"scope": "tenant"})}
        for cid in ids:
            kpis[cid] = await _kpis(http, urls["indicators"], {"scope": "client", "id": cid})
    return TenantView(clients, items, actions, statuses, dunning_items, requested, sends, kpis)


async def _requested_emails(http: httpx.AsyncClient, urls: dict[str, str], client_ids: list[str],
                            actions: list[dict[str, Any]]) -> dict[str, str]:
    requested: dict[str, str] = {}
    for action in actions:
        for email in await _get(http, f"{urls['followups']}/actions/{action['action_id']}/emails"):
            requested[email["request_id"]] = f"followups action {action['action_id']}"
    for cid in client_ids:
        for entry in await _get(http, f"{urls['followups']}/clients/{cid}/history", params={"limit": 1000}):
            if entry.get("kind") == "email_requested" and (entry.get("data") or {}).get("request_id"):
                requested[entry["data"]["request_id"]] = f"followups client {cid}"
        for entry in await _get(http, f"{urls['dunning']}/clients/{cid}/history", params={"limit": 1000}):
            if request_id := (entry.get("record") or {}).get("email_request_id"):
                requested[request_id] = f"dunning client {cid}"
    return requested


async def _kpis(http: httpx.AsyncClient, url: str, params: dict[str, str]) -> dict[str, Any] | None:
    response = await http.get(f"{url}/kpis", params=params)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]
