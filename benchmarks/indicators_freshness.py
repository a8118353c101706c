"""End-to-end freshness: from a status change published to Kafka to the KPI API showing it.

    .venv/bin/python benchmarks/indicators_freshness.py [--rate 100] [--probes 40] [--items-per-change 1]

The indicators service runs as its own process. A background publisher sends `--rate` status
changes per second (ItemStatusChanged, as the follow-ups service publishes them) over many
clients; meanwhile a probe client's item is moved in and out of a dispute, and the time until
GET /kpis shows the new disputed outstanding is measured: p50 and p95, printed next to the same
probes with no background load (the baseline, measured in the same run).

Until the follow-ups service exists, this publishes the follow-ups' events itself; the lead reruns
it from the follow-ups API (status change accepted → KPI visible) once both services are merged.
Uses KAFKA_BOOTSTRAP_SERVERS / MONGODB_URL when set, else starts the local default processes.
"""

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from aiokafka import AIOKafkaProducer  # noqa: E402

from devstack.processes import ManagedProcess, free_port  # noqa: E402
from devstack.tokens import ensure_key_pair, mint_token  # noqa: E402
from shared.contracts.envelope import Envelope, EventPayload  # noqa: E402
from shared.contracts.receivables import (  # noqa: E402
    ClientUpserted,
    ItemStatusChanged,
    ItemStatusDefined,
    ItemsUpserted,
)
from shared.contracts.topics import Topics  # noqa: E402
from shared.contracts.values import ActionType, ItemSnapshot, StatusCategory  # noqa: E402
from shared.testing.infra import infrastructure  # noqa: E402
from shared.testing.services import Isolation, service_env, wait_ready  # noqa: E402

TENANT = "bench"
CLIENTS = 200
ITEMS_PER_CLIENT = 5
PROBE = "probe"
NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)


class Portfolio:
    """The follow-ups service's side: items with versions, and the events it would publish."""

    def __init__(self, producer: AIOKafkaProducer, topics: Topics) -> None:
        self.producer, self.topics = producer, topics
        self.versions: dict[str, int] = {}
        self.rng = random.Random(7)

    def snapshot(self, client_id: str, item_id: str, *, disputed: bool | None = None) -> ItemSnapshot:
        version = self.versions[item_id] = self.versions.get(item_id, 0) + 1
        status = {None: {}, True: {"status_code": "price_dispute", "status_since": NOW, "held_by_action_id": "f",
                                   "held_by_action_type": ActionType.FOLLOW_UP},
                  False: {"status_code": "promise_to_pay", "status_since": NOW}}[disputed]
        return ItemSnapshot(item_id=item_id, client_id=client_id, number=item_id, issue_date=date(2026, 9, 1),
                            due_date=date(2026, 10, 1), amount=Decimal(100), open_amount=Decimal(100), currency="EUR",
                            version=version, changed_at=NOW, **status)

    async def publish(self, payload: EventPayload, key_id: str, *, wait: bool = False) -> None:
        envelope = Envelope.wrap(payload, tenant_id=TENANT, key_id=key_id, source="/services/followups")
        headers = [(name, value.encode()) for name, value in envelope.kafka_headers().items()]
        send = self.producer.send_and_wait if wait else self.producer.send
        await send(self.topics(payload.stream), value=envelope.model_dump_json().encode(),
                   key=envelope.partitionkey.encode(), headers=headers)

    async def seed(self) -> None:
        for code, category, dispute in (("price_dispute", StatusCategory.DISPUTE, True),
                                        ("promise_to_pay", StatusCategory.PROMISE, False)):
            await self.publish(ItemStatusDefined(code=code, labels={"en": code}, category=category,
                                                 counts_as_dispute=dispute, takes_out_of_dunning=dispute, version=1),
                               code, wait=True)
        for n in [*range(CLIENTS), PROBE]:
            client_id = f"c{n}" if n != PROBE else PROBE
            await self.publish(ClientUpserted(client_id=client_id, number=client_id, name=client_id, entity_id="fr",
                                              language="fr", currency="EUR", version=1), client_id)
            count = ITEMS_PER_CLIENT if n != PROBE else 1
            await self.publish(ItemsUpserted(client_id=client_id, items=[
                self.snapshot(client_id, f"{client_id}-i{k}") for k in range(count)]), client_id)
        await self.producer.flush()

    async def background(self, rate: float, items_per_change: int, stop: asyncio.Event) -> int:
        """Status changes at `rate` per second until `stop`; returns how many were sent."""
        sent, interval, next_at = 0, 1.0 / rate, time.perf_counter()
        while not stop.is_set():
            client_id = f"c{self.rng.randrange(CLIENTS)}"
            disputed = self.rng.random() < 0.5
            items = [self.snapshot(client_id, f"{client_id}-i{k}", disputed=disputed)
                     for k in self.rng.sample(range(ITEMS_PER_CLIENT), items_per_change)]
            await self.publish(ItemStatusChanged(client_id=client_id, status_code=items[0].status_code, items=items),
                               client_id)
            sent += 1
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        return sent


async def disputed_outstanding(http: httpx.AsyncClient) -> Decimal | None:
    response = await http.get("/kpis", params={"scope": "client", "id": PROBE})
    if response.status_code != 200:
        return None
    currencies = response.json()["currencies"]
    return Decimal(currencies[0]["disputed_outstanding"]) if currencies else None


async def probe_freshness(portfolio: Portfolio, http: httpx.AsyncClient, probes: int,
                          timeout_s: float) -> list[float | None]:
    """Move the probe item in and out of a dispute; time until the KPI API shows each move (None: not
    within `timeout_s`, the consumer is falling behind; later probes then wait for that one too)."""
    samples: list[float | None] = []
    for n in range(probes):
        disputed = n % 2 == 0
        expected = Decimal(100) if disputed else Decimal(0)
        event = ItemStatusChanged(client_id=PROBE, status_code=None,
                                  items=[portfolio.snapshot(PROBE, f"{PROBE}-i0", disputed=disputed)])
        started = time.perf_counter()
        await portfolio.publish(event, PROBE, wait=True)
        seen: float | None = None
        while seen is None and time.perf_counter() - started <= timeout_s:
            if await disputed_outstanding(http) == expected:
                seen = time.perf_counter() - started
            else:
                await asyncio.sleep(0.01)
        samples.append(seen)
        await asyncio.sleep(0.2)
    return samples


async def metric(http: httpx.AsyncClient, name: str, *fragments: str) -> float:
    """The sum of a Prometheus metric's samples whose labels contain every fragment."""
    text = (await http.get("/metrics")).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{") and all(fragment in line for fragment in fragments))


async def handled(http: httpx.AsyncClient) -> float:
    return await metric(http, "arf_events_consumed_total", 'outcome="handled"')


async def handler_ms(http: httpx.AsyncClient) -> float:
    """Mean time the service spent handling one status change (its own histogram)."""
    kind = 'type="arf.item-status.changed.v1"'
    count = await metric(http, "arf_handler_seconds_count", kind)
    return 1000 * await metric(http, "arf_handler_seconds_sum", kind) / count if count else 0.0


def percentiles(samples: list[float | None]) -> str:
    seen = sorted(sample for sample in samples if sample is not None)
    if len(seen) < 2:
        return f"{'-':>8} {'-':>8}"
    return f"{statistics.median(seen) * 1000:>8.0f} {statistics.quantiles(seen, n=20)[-1] * 1000:>8.0f}"


async def run(infra: Any, args: argparse.Namespace) -> None:
    isolation, keys = Isolation.new(), Path(tempfile.mkdtemp(prefix="arf-bench-keys-"))
    private, public = ensure_key_pair(keys)
    port = free_port()
    env = service_env(infra, isolation, "indicators", public_key=public, http_port=port, log_level="WARNING")
    service = ManagedProcess(name="indicators", argv=[sys.executable, "-m", "services.indicators"], env=env,
                             log_path=keys / "indicators.log", port=port)
    service.start()
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, linger_ms=2)
    await producer.start()
    token = mint_token(private.read_text(), tenant_id=TENANT, user_id="bench", role="admin")
    try:
        base_url = f"http://127.0.0.1:{port}"
        await wait_ready(base_url, timeout_s=90)
        async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {token}"},
                                     timeout=10.0) as http:
            portfolio = Portfolio(producer, Topics(isolation.topic_prefix))
            await portfolio.seed()
            while await disputed_outstanding(http) is None:
                await asyncio.sleep(0.2)
            idle = await probe_freshness(portfolio, http, args.probes, args.timeout)
            stop = asyncio.Event()
            before, started = await handled(http), time.perf_counter()
            load = asyncio.create_task(portfolio.background(args.rate, args.items_per_change, stop))
            await asyncio.sleep(2.0)  # let the load settle in
            try:
                loaded = await probe_freshness(portfolio, http, args.probes, args.timeout)
            finally:
                stop.set()
                sent = await load
            elapsed = time.perf_counter() - started
            consumed = (await handled(http) - before) / elapsed
            mean_handler_ms = await handler_ms(http)
    finally:
        await producer.stop()
        service.stop()
    print(f"\nfreshness: status change published → GET /kpis shows it ({args.probes} probes each)")
    print(f"{'background load':>28} {'p50 ms':>8} {'p95 ms':>8} {'not visible within timeout':>28}")
    for label, samples in (("none (baseline)", idle), (f"{args.rate:g} changes/s", loaded)):
        missing = sum(sample is None for sample in samples)
        print(f"{label:>28} {percentiles(samples)} {f'{missing}/{len(samples)} (> {args.timeout:g} s)':>28}")
    print(f"background: {sent / elapsed:.1f} changes/s sent ({args.items_per_change} item(s) each); the service "
          f"handled {consumed:.1f} events/s over {elapsed:.0f} s, {mean_handler_ms:.1f} ms per status change")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=100.0, help="Background status changes per second")
    parser.add_argument("--items-per-change", type=int, default=1, choices=range(1, ITEMS_PER_CLIENT + 1))
    parser.add_argument("--probes", type=int, default=40, help="Probes per phase")
    parser.add_argument("--timeout", type=float, default=60.0, help="Give up on a probe after this many seconds")
    args = parser.parse_args()
    with infrastructure() as infra:
        print(f"infrastructure: {infra.kind} (Kafka {infra.kafka_bootstrap_servers}, MongoDB {infra.mongodb_url})")
        asyncio.run(run(infra, args))


if __name__ == "__main__":
    main()
