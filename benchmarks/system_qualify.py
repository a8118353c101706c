"""The system on one bulk change: 10 000 items qualified into one follow-up in ONE request, and the time until
BOTH dunning (every item paused, held by the action) and the indicators (the client's disputed outstanding)
show it, read through their HTTP APIs; next to the floor measured on the same broker and database in the
same run: a bare `insert_many` of the same 10 000 item documents, and a bare publish of 10 000 messages.

    .venv/bin/python benchmarks/system_qualify.py [--items 10000] [--timeout 600]

The follow-ups, dunning and indicators services run in processes of their own (as `make up` runs them),
with a key pair made for the run. The last line is `RESULT {json}`: `make bench` reads it for
docs/benchmarks.md. Target: the system within 3x of the floor (bare write + bare publish).
"""

import argparse
import asyncio
import json
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from aiokafka import AIOKafkaProducer  # noqa: E402
from pymongo import AsyncMongoClient  # noqa: E402

from devstack.processes import ManagedProcess, free_port  # noqa: E402
from devstack.testing.infra import Infrastructure, infrastructure  # noqa: E402
from devstack.testing.services import Isolation, eventually, service_env, wait_ready  # noqa: E402
from devstack.tokens import ensure_key_pair, mint_token  # noqa: E402
from shared.platform.mongo import TYPE_REGISTRY  # noqa: E402

TENANT = "bench"
CLIENT = "BIG"
AMOUNT = Decimal("125.40")
TARGET_RATIO = 3.0
DUNNING_POLL_S = 0.5


class Stack:
    """Follow-ups, dunning and indicators, each in its own process, on one isolation of the infrastructure."""

    def __init__(self, infra: Infrastructure, folder: Path) -> None:
        self.infra, self.folder, self.isolation = infra, folder, Isolation.new()
        private, self.public = ensure_key_pair(folder / "keys")
        self.token = mint_token(private.read_text(), tenant_id=TENANT, user_id="u-col", role="admin",
                                email="u-col@bench.example")
        self.processes: dict[str, ManagedProcess] = {}

    async def start(self) -> dict[str, str]:
        extra: dict[str, dict[str, Any]] = {"dunning": {"dunning_scheduler_enabled": "false"}}
        for service in ("followups", "dunning", "indicators"):
            port = free_port()
            env = service_env(self.infra, self.isolation, service, public_key=self.public, http_port=port,
                              log_level="WARNING", **extra.get(service, {}))
            process = ManagedProcess(name=service, argv=[sys.executable, "-m", f"services.{service}"], env=env,
                                     log_path=self.folder / f"{service}.log", port=port)
            process.start()
            self.processes[service] = process
        urls = {name: f"http://127.0.0.1:{p.port}" for name, p in self.processes.items()}
        for url in urls.values():
            await wait_ready(url, timeout_s=180)
        return urls

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()


def item_rows(count: int) -> list[dict[str, str]]:
    return [{"item_id": f"{CLIENT}-{n:06d}", "client_id": CLIENT, "number": f"INV-{n:06d}",
             "issue_date": "2026-08-01", "due_date": "2026-09-30", "amount": str(AMOUNT),
             "open_amount": str(AMOUNT), "currency": "EUR"} for n in range(count)]


async def held_in_dunning(dunning: httpx.AsyncClient) -> int:
    """How many of the client's items dunning shows paused because a follow-up holds them."""
    response = await dunning.get(f"/clients/{CLIENT}/items")
    if response.status_code == 404:
        return 0
    response.raise_for_status()
    return sum(1 for item in response.json() if (item.get("suppressed") or {}).get("reason") == "held_by_action")


async def known_to_dunning(dunning: httpx.AsyncClient) -> int:
    response = await dunning.get(f"/clients/{CLIENT}/items")
    return len(response.json()) if response.status_code == 200 else 0


async def kpi(indicators: httpx.AsyncClient, name: str) -> Decimal:
    response = await indicators.get("/kpis", params={"scope": "client", "id": CLIENT})
    if response.status_code == 404:
        return Decimal(0)
    response.raise_for_status()
    currencies = response.json()["currencies"]
    return Decimal(currencies[0][name]) if currencies else Decimal(0)


async def until_reflected(started: float, probe: Any, expected: Any, timeout_s: float, interval_s: float) -> float:
    """Seconds from `started` until `probe()` returns `expected`, polled every `interval_s`."""
    await eventually(probe, until=lambda value: value == expected, timeout_s=timeout_s, interval_s=interval_s)
    return time.perf_counter() - started


async def setup(followups: httpx.AsyncClient, dunning: httpx.AsyncClient, indicators: httpx.AsyncClient,
                items: int, timeout_s: float) -> list[str]:
    """The client and its items, imported and known to dunning and the indicators before the clock starts."""
    await followups.put("/admin/users/u-col", json={"name": "Jean Martin", "email": "jean@acme.example",
                                                    "roles": ["collector"]})
    (await followups.put(f"/clients/{CLIENT}", json={
        "number": CLIENT, "name": "Client BIG", "language": "fr", "currency": "EUR",
        "collector_id": "u-col"})).raise_for_status()
    rows = item_rows(items)
    report = (await followups.post("/imports/items", json=rows)).json()
    assert report["created"] == items, report
    await eventually(lambda: known_to_dunning(dunning), until=lambda n: n == items, timeout_s=timeout_s,
                     interval_s=0.5)
    await eventually(lambda: kpi(indicators, "total_outstanding"), until=lambda v: v == AMOUNT * items,
                     timeout_s=timeout_s, interval_s=0.5)
    return [row["item_id"] for row in rows]


async def qualify(urls: dict[str, str], token: str, items: int, timeout_s: float) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=urls["followups"], headers=headers, timeout=timeout_s) as followups, \
            httpx.AsyncClient(base_url=urls["dunning"], headers=headers, timeout=timeout_s) as dunning, \
            httpx.AsyncClient(base_url=urls["indicators"], headers=headers, timeout=timeout_s) as indicators:
        ids = await setup(followups, dunning, indicators, items, timeout_s)
        started = time.perf_counter()
        response = await followups.post("/wizard/change-status", json={
            "client_id": CLIENT, "item_ids": ids, "status_code": "price_dispute",
            "comment": "unit price differs from the contract", "next_action": {
                "kind": "create_action", "source": "status_model", "owner_id": "u-col"}})
        answered_s = time.perf_counter() - started
        assert response.status_code == 200, response.text
        # Dunning's answer lists every item (and why it waits): polled every half second so that reading it
        # does not take the CPU dunning needs to catch up; the KPI is one small document, polled often.
        dunning_s, indicators_s = await asyncio.gather(
            until_reflected(started, lambda: held_in_dunning(dunning), items, timeout_s, DUNNING_POLL_S),
            until_reflected(started, lambda: kpi(indicators, "disputed_outstanding"), AMOUNT * items, timeout_s,
                            0.05))
    return {"answered_s": answered_s, "dunning_s": dunning_s, "indicators_s": indicators_s,
            "system_s": max(dunning_s, indicators_s)}


async def bare_write(infra: Infrastructure, isolation: Isolation) -> float:
    """Seconds for one `insert_many` of the client's item documents, as the follow-ups keep them."""
    mongo = AsyncMongoClient(infra.mongodb_url, type_registry=TYPE_REGISTRY)
    try:
        database = mongo[isolation.database("followups")]
        docs = await database.items.find({"client_id": CLIENT}).to_list()
        for doc in docs:
            doc.pop("_id")
        started = time.perf_counter()
        await database.bench_floor.insert_many(docs)
        return time.perf_counter() - started
    finally:
        await mongo.close()


async def bare_publish(infra: Infrastructure, isolation: Isolation, count: int) -> float:
    """Seconds to publish `count` event-sized messages (acknowledged by all replicas) to a fresh topic."""
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, acks="all",
                                enable_idempotence=infra.kafka_idempotence)
    await producer.start()
    topic = f"{isolation.topic_prefix}bench.floor"
    try:
        await producer.send_and_wait(topic, b"{}")  # the topic exists before the clock starts
        value = json.dumps({"type": "ItemStatusChanged", "tenant_id": TENANT, "payload": {
            "item_id": f"{CLIENT}-000000", "client_id": CLIENT, "status_code": "price_dispute",
            "comment": "unit price differs from the contract", "open_amount": str(AMOUNT), "currency": "EUR",
            "padding": "x" * 400}}).encode()
        started = time.perf_counter()
        futures = [await producer.send(topic, value=value, key=f"{CLIENT}-{n:06d}".encode())
                   for n in range(count)]
        await asyncio.gather(*futures)
        return time.perf_counter() - started
    finally:
        await producer.stop()


async def run(items: int, timeout_s: float) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="arf-bench-system-"))
    with infrastructure() as infra:
        print(infra.describe())
        stack = Stack(infra, folder)
        try:
            urls = await stack.start()
            figures = await qualify(urls, stack.token, items, timeout_s)
        finally:
            stack.stop()
        figures["write_s"] = await bare_write(infra, stack.isolation)
        figures["publish_s"] = await bare_publish(infra, stack.isolation, items)
    figures["floor_s"] = figures["write_s"] + figures["publish_s"]
    figures["ratio"] = figures["system_s"] / figures["floor_s"]
    figures.update(items=items, target_ratio=TARGET_RATIO, infrastructure=infra.describe(),
                   dunning_poll_s=DUNNING_POLL_S)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=600.0, help="Give up waiting after this many seconds")
    args = parser.parse_args()
    f = asyncio.run(run(args.items, args.timeout))
    n = f["items"]
    print(f"wizard: {n} items qualified in ONE request, answered:   {f['answered_s']:7.2f} s")
    print(f"  dunning shows all {n} paused (held by the action):  {f['dunning_s']:7.2f} s")
    print(f"  indicators show the disputed outstanding:          {f['indicators_s']:7.2f} s")
    print(f"system: both reflect it:                              {f['system_s']:7.2f} s")
    print(f"floor: bare insert_many of the same {n} docs:     {f['write_s']:7.2f} s")
    print(f"floor: bare publish of {n} messages (acks=all):   {f['publish_s']:7.2f} s")
    verdict = "within" if f["ratio"] <= f["target_ratio"] else "NOT within"
    print(f"ratio: system / (write + publish) = {f['ratio']:.1f}x ({verdict} the {f['target_ratio']:.0f}x target)")
    print("RESULT " + json.dumps(f))


if __name__ == "__main__":
    main()
