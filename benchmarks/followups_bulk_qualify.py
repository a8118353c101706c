"""Qualifying 10 000 items into one follow-up in ONE request, against the real broker and database.

Prints the wizard request's time next to two baselines measured in the same run on the same machine:
- the same items written one request at a time (a sample, extrapolated to the whole selection);
- a bare `insert_many` of the same 10 000 item documents (the database's raw write speed).
Usage: .venv/bin/python benchmarks/followups_bulk_qualify.py [--items 10000] [--sample 40]
"""

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx
from pymongo import AsyncMongoClient

from devstack.tokens import ensure_key_pair, mint_token
from services.followups.app import create_app
from services.followups.config import FollowupsSettings
from shared.platform.mongo import TYPE_REGISTRY
from devstack.testing.infra import infrastructure
from devstack.testing.services import Isolation, serve_app, service_settings

TENANT = "bench"


def item_rows(client_id: str, count: int) -> list[dict[str, str]]:
    return [{"item_id": f"{client_id}-{n:06d}", "client_id": client_id, "number": f"INV-{n:06d}",
             "issue_date": "2026-08-01", "due_date": "2026-09-30", "amount": "125.40", "open_amount": "125.40",
             "currency": "EUR"} for n in range(count)]


async def setup(http: httpx.AsyncClient, client_id: str, count: int) -> list[str]:
    await http.put("/admin/users/u-col", json={"name": "Jean Martin", "email": "jean@acme.example",
                                               "roles": ["collector"]})
    response = await http.put(f"/clients/{client_id}", json={
        "number": client_id, "name": f"Client {client_id}", "language": "fr", "currency": "EUR",
        "collector_id": "u-col"})
    response.raise_for_status()
    rows = item_rows(client_id, count)
    report = (await http.post("/imports/items", json=rows)).json()
    assert report["created"] == count, report
    return [row["item_id"] for row in rows]


async def run(items: int, sample: int) -> None:
    keys = ensure_key_pair(Path(tempfile.mkdtemp(prefix="arf-bench-keys-")))
    token = mint_token(keys[0].read_text(), tenant_id=TENANT, user_id="u-col", role="collector")
    admin = mint_token(keys[0].read_text(), tenant_id=TENANT, user_id="u-admin", role="admin")
    with infrastructure() as infra:
        print(infra.describe())
        isolation = Isolation.new()
        settings = service_settings(FollowupsSettings, infra, isolation, "followups", public_key=keys[1])
        async with serve_app(create_app(settings)) as base_url:
            async with httpx.AsyncClient(base_url=base_url, timeout=600,
                                         headers={"Authorization": f"Bearer {admin}"}) as http:
                started = time.perf_counter()
                ids = await setup(http, "BIG", items)
                import_s = time.perf_counter() - started
                one_by_one = await setup(http, "SMALL", sample)
            async with httpx.AsyncClient(base_url=base_url, timeout=600,
                                         headers={"Authorization": f"Bearer {token}"}) as http:
                started = time.perf_counter()
                response = await http.post("/wizard/change-status", json={
                    "client_id": "BIG", "item_ids": ids, "status_code": "price_dispute",
                    "comment": "unit price differs from the contract", "next_action": {
                        "kind": "create_action", "source": "status_model", "owner_id": "u-col"}})
                bulk_s = time.perf_counter() - started
                assert response.status_code == 200, response.text
                action_id = response.json()["action"]["action_id"]

                first = await http.post("/wizard/change-status", json={
                    "client_id": "SMALL", "item_ids": one_by_one[:1], "status_code": "price_dispute",
                    "next_action": {"kind": "create_action", "source": "status_model", "owner_id": "u-col"}})
                small_action = first.json()["action"]["action_id"]
                started = time.perf_counter()
                for item_id in one_by_one[1:]:
                    answer = await http.post("/wizard/change-status", json={
                        "client_id": "SMALL", "item_ids": [item_id], "status_code": "price_dispute",
                        "next_action": {"kind": "add_to_action", "action_id": small_action}})
                    assert answer.status_code == 200, answer.text
                per_item_s = (time.perf_counter() - started) / (len(one_by_one) - 1)

                started = time.perf_counter()
                mongo = AsyncMongoClient(infra.mongodb_url, type_registry=TYPE_REGISTRY)
                docs = (await mongo[isolation.database("followups")].items.find({"client_id": "BIG"})
                        .to_list())
                for doc in docs:
                    doc.pop("_id")
                read_s = time.perf_counter() - started
                started = time.perf_counter()
                await mongo[isolation.database("followups")].bench_copy.insert_many(docs)
                insert_s = time.perf_counter() - started
                await mongo.close()

                held = (await http.get(f"/actions/{action_id}")).json()["item_ids"]
                assert len(held) == items
    print(f"items imported (JSON, streamed, {items} rows):      {import_s:7.2f} s")
    print(f"wizard: {items} items qualified into one follow-up: {bulk_s:7.2f} s   (ONE request)")
    print(f"baseline: one request per item ({sample - 1} sampled):   {per_item_s * 1000:7.1f} ms/item "
          f"-> {per_item_s * items:7.1f} s for {items}")
    print(f"baseline: bare insert_many of the same {items} docs:  {insert_s:7.2f} s  (read back: {read_s:.2f} s)")
    print(f"speed-up over one-by-one: x{per_item_s * items / bulk_s:.1f}; "
          f"vs raw insert: {bulk_s / insert_s:.1f} times the bare write")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(run(args.items, args.sample))


if __name__ == "__main__":
    main()
