"""End-to-end freshness: from a status change accepted by the follow-ups API to the KPI API showing it,
and the events per second the indicators sustain at saturation; before and after batching, back to back.

    .venv/bin/python benchmarks/indicators_freshness.py [--rate 100] [--api-rate 30] [--probes 40]
        [--batch-size 200] [--saturation-events 3000] [--before-source DIR] [--skip-before]

The follow-ups and the indicators services run in processes of their own, with a key pair made for
the run. Through the follow-ups API: 200 clients of 5 items and a probe client of 1 item are imported,
and every item is put in a price dispute held by a follow-up (the wizard). Then, per configuration:
- freshness: the probe item's status is switched between `price_dispute` and `promise_to_pay` (the
  wizard, one item, follow the scenario: one `ItemStatusChanged`), and the time from the API's answer
  to GET /kpis showing the probe client's new disputed outstanding is measured, without load and under
  a background load of `--rate` such single-item changes per second: `--api-rate` of them through the
  follow-ups API (on random items), the rest published straight to the follow-ups' topic as its relay
  would (on items it does not hold): on this machine the follow-ups API does not take 100 a second;
- saturation: a backlog of `--saturation-events` single-item status changes is published at once and
  the rate the indicators handle it at (first to last) is read from their metrics.
"after" is this tree with `--batch-size`; "before" is the same service reading one event per
transaction, or, with `--before-source DIR`, the indicators service of another source tree (e.g.
`git archive <commit> | tar -x -C DIR`). Uses KAFKA_BOOTSTRAP_SERVERS / MONGODB_URL when set, else
starts the local default processes.
"""

import argparse
import asyncio
import random
import shlex
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from aiokafka import AIOKafkaProducer  # noqa: E402

from devstack.processes import ManagedProcess, free_port  # noqa: E402
from devstack.tokens import ensure_key_pair, mint_token  # noqa: E402
from shared.contracts.envelope import Envelope  # noqa: E402
from shared.contracts.receivables import ItemStatusChanged  # noqa: E402
from shared.contracts.topics import Topics  # noqa: E402
from shared.contracts.values import ActionType, ItemSnapshot  # noqa: E402
from devstack.testing.infra import Infrastructure, infrastructure  # noqa: E402
from devstack.testing.services import Isolation, eventually, service_env, wait_ready  # noqa: E402

TENANT = "bench"
CLIENTS = 200
ITEMS_PER_CLIENT = 5
PROBE = "probe"
DISPUTE, PROMISE = "price_dispute", "promise_to_pay"


@dataclass
class Phase:
    label: str
    idle: list[float | None] = field(default_factory=list)
    loaded: list[float | None] = field(default_factory=list)
    api_rate: float = 0.0
    direct_rate: float = 0.0
    api_ms: list[float] = field(default_factory=list)
    refused: int = 0
    saturation: float = 0.0
    batches: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0)  # under load: batches, events, seconds, retries


class Stack:
    """The two services, each in its own process, with a key pair and tokens made for the run."""

    def __init__(self, infra: Infrastructure, folder: Path) -> None:
        self.infra, self.folder, self.isolation = infra, folder, Isolation.new()
        private, self.public = ensure_key_pair(folder / "keys")
        self.token = mint_token(private.read_text(), tenant_id=TENANT, user_id="u-col", role="admin",
                                email="u-col@bench.example")
        self.indicators: ManagedProcess | None = None
        self.followups = self._process("followups", [sys.executable, "-m", "services.followups"])
        self.indicators_url = ""

    def _process(self, service: str, argv: list[str], **extra: Any) -> ManagedProcess:
        port = free_port()
        env = service_env(self.infra, self.isolation, service, public_key=self.public, http_port=port,
                          log_level="WARNING", **extra)
        return ManagedProcess(name=service, argv=argv, env=env, log_path=self.folder / f"{service}.log", port=port)

    async def start_followups(self) -> str:
        self.followups.start()
        await wait_ready(f"http://127.0.0.1:{self.followups.port}", timeout_s=120)
        return f"http://127.0.0.1:{self.followups.port}"

    async def start_indicators(self, *, batch_size: int, source: Path | None) -> str:
        """A fresh indicators process on the same database and consumer groups: it goes on from where
        the previous one stopped."""
        argv = [sys.executable, "-m", "services.indicators"]
        if source is not None:  # run another tree's service: `python -m` looks in the working directory first
            argv = ["sh", "-c", f"cd {shlex.quote(str(source))} && exec {shlex.join(argv)}"]
        self.indicators = self._process("indicators", argv, indicators_batch_size=batch_size)
        self.indicators.start()
        self.indicators_url = f"http://127.0.0.1:{self.indicators.port}"
        await wait_ready(self.indicators_url, timeout_s=120)
        return self.indicators_url

    def stop(self) -> None:
        for process in (self.indicators, self.followups):
            if process is not None:
                process.stop()


class Desk:
    """A collector using the follow-ups API, and the KPIs as the indicators API shows them."""

    def __init__(self, followups: httpx.AsyncClient, rng: random.Random) -> None:
        self.followups, self.rng = followups, rng
        self.statuses: dict[str, str] = {}
        self.api_ms: list[float] = []
        self.refused = 0

    async def setup(self) -> None:
        await self._call("PUT", "/admin/users/u-col", json={"name": "Bench", "email": "u-col@bench.example",
                                                             "roles": ["collector"]})
        clients = [f"c{n}" for n in range(CLIENTS)] + [PROBE]
        await self._call("POST", "/imports/clients", json=[
            {"client_id": c, "number": c, "name": f"Client {c}", "language": "fr", "currency": "EUR",
             "entity_id": "fr", "collector_id": "u-col"} for c in clients])
        rows = [{"item_id": item_id, "client_id": c, "number": item_id, "issue_date": "2026-09-01",
                 "due_date": "2026-10-01", "amount": "100", "open_amount": "100", "currency": "EUR"}
                for c in clients for item_id in self.items_of(c)]
        report = await self._call("POST", "/imports/items", json=rows)
        assert report["created"] == len(rows), report
        for c in clients:  # each client's items disputed and held by a follow-up
            await self._call("POST", "/wizard/change-status", json={
                "client_id": c, "item_ids": self.items_of(c), "status_code": DISPUTE,
                "next_action": {"kind": "create_action", "source": "status_model", "owner_id": "u-col"}})
            self.statuses.update({item_id: DISPUTE for item_id in self.items_of(c)})

    @staticmethod
    def items_of(client_id: str) -> list[str]:
        return [f"{client_id}-i{k}" for k in range(1 if client_id == PROBE else ITEMS_PER_CLIENT)]

    async def change_status(self, client_id: str, item_id: str) -> float:
        """Switch one held item between a dispute and a promise; returns when the API accepted it."""
        status = PROMISE if self.statuses[item_id] == DISPUTE else DISPUTE
        self.statuses[item_id] = status
        started = time.perf_counter()
        await self._call("POST", "/wizard/change-status", json={
            "client_id": client_id, "item_ids": [item_id], "status_code": status, "next_action": {"kind": "scenario"}})
        accepted = time.perf_counter()
        self.api_ms.append((accepted - started) * 1000)
        return accepted

    async def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        response = await self.followups.request(method, url, **kwargs)
        assert response.status_code < 300, f"{method} {url}: {response.status_code} {response.text[:300]}"
        return response.json()

    async def background(self, rate: float, stop: asyncio.Event, in_flight: int = 16) -> tuple[int, float]:
        """Status changes at `rate` per second (at most `in_flight` at once); returns (sent, seconds)."""
        gate, tasks, sent = asyncio.Semaphore(in_flight), set(), 0
        started = next_at = time.perf_counter()

        async def one(client_id: str, item_id: str) -> None:
            async with gate:
                try:
                    await self.change_status(client_id, item_id)
                except (AssertionError, httpx.HTTPError):
                    self.refused += 1

        while not stop.is_set():
            client_id = f"c{self.rng.randrange(CLIENTS)}"
            item_id = self.rng.choice(self.items_of(client_id))
            await gate.acquire()  # open loop, but never more than `in_flight` waiting on the API
            gate.release()
            task = asyncio.create_task(one(client_id, item_id))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
            next_at += 1.0 / rate
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        await asyncio.gather(*tasks)
        return sent, time.perf_counter() - started


class Relay:
    """Publishes single-item status changes as the follow-ups' relay does, for items the follow-ups
    service does not hold (the part of the load its API cannot take here, and the saturation backlog)."""

    def __init__(self, producer: AIOKafkaProducer, topics: Topics) -> None:
        self.producer, self.topics = producer, topics
        self.versions: dict[str, int] = {}
        self.n = 0

    async def status_change(self) -> None:
        client_id, self.n = f"c{self.n % CLIENTS}", self.n + 1
        item_id = f"{client_id}-k{(self.n // CLIENTS) % ITEMS_PER_CLIENT}"
        version = self.versions[item_id] = self.versions.get(item_id, 0) + 1
        disputed = version % 2 == 1
        held = {"held_by_action_id": f"k-{client_id}", "held_by_action_type": ActionType.FOLLOW_UP}
        item = ItemSnapshot(item_id=item_id, client_id=client_id, number=item_id, issue_date=date(2026, 9, 1),
                            due_date=date(2026, 10, 1), amount=Decimal(100), open_amount=Decimal(100), currency="EUR",
                            status_code=DISPUTE if disputed else PROMISE, status_since=datetime.now(UTC),
                            version=version, changed_at=datetime.now(UTC), **held)
        payload = ItemStatusChanged(client_id=client_id, status_code=item.status_code, items=[item])
        envelope = Envelope.wrap(payload, tenant_id=TENANT, key_id=client_id, source="/services/followups")
        await self.producer.send(self.topics(payload.stream), value=envelope.kafka_value(),
                                 key=envelope.partitionkey.encode(),
                                 headers=[(k, v.encode()) for k, v in envelope.kafka_headers().items()])

    async def background(self, rate: float, stop: asyncio.Event) -> tuple[int, float]:
        sent, started = 0, time.perf_counter()
        while not stop.is_set():
            await self.status_change()
            sent += 1
            await asyncio.sleep(max(0.0, started + sent / rate - time.perf_counter()))
        return sent, time.perf_counter() - started


async def probe_disputed(kpis: httpx.AsyncClient) -> Decimal | None:
    response = await kpis.get("/kpis", params={"scope": "client", "id": PROBE})
    currencies = response.json().get("currencies") if response.status_code == 200 else None
    return Decimal(currencies[0]["disputed_outstanding"]) if currencies else None


async def probe_freshness(desk: Desk, kpis: httpx.AsyncClient, probes: int, timeout_s: float) -> list[float | None]:
    """Switch the probe item; time from the API's answer until GET /kpis shows it (None: not within
    `timeout_s`; after two in a row the indicators are falling behind, and probing stops)."""
    samples: list[float | None] = []
    while len(samples) < probes and samples[-2:] != [None, None]:
        samples.append(await probe_once(desk, kpis, timeout_s))
        await asyncio.sleep(0.2)
    return samples


async def probe_once(desk: Desk, kpis: httpx.AsyncClient, timeout_s: float) -> float | None:
    item_id = desk.items_of(PROBE)[0]
    accepted = await desk.change_status(PROBE, item_id)
    expected = Decimal(100) if desk.statuses[item_id] == DISPUTE else Decimal(0)
    while time.perf_counter() - accepted <= timeout_s:
        if await probe_disputed(kpis) == expected:
            return time.perf_counter() - accepted
        await asyncio.sleep(0.01)
    return None


async def handled(kpis: httpx.AsyncClient) -> float:
    return await sample_sum(kpis, "arf_events_consumed_total{", 'outcome="handled"', 'type="arf.item-status.changed.v1"')


async def sample_sum(kpis: httpx.AsyncClient, prefix: str, *parts: str) -> float:
    """The sum of the indicators' metric samples whose line starts with `prefix` and holds every part."""
    text = (await kpis.get("/metrics")).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(prefix) and all(part in line for part in parts))


async def batch_totals(kpis: httpx.AsyncClient) -> tuple[float, ...]:
    """(batches, events, seconds) of the indicators' change consumer so far, and the transactions of
    all their consumers started again after a conflict."""
    changes = 'consumer="indicators.changes"'
    return (await sample_sum(kpis, "arf_batch_events_count{", changes),
            await sample_sum(kpis, "arf_batch_events_sum{", changes),
            await sample_sum(kpis, "arf_batch_seconds_sum{", changes),
            await sample_sum(kpis, "arf_transaction_retries_total{"))


async def quiet(kpis: httpx.AsyncClient, *, for_s: float = 3.0) -> None:
    """Wait until the indicators have handled everything published (their count stops moving)."""
    last, still_since = await handled(kpis), time.perf_counter()
    while time.perf_counter() - still_since < for_s:
        await asyncio.sleep(0.5)
        count = await handled(kpis)
        if count != last:
            last, still_since = count, time.perf_counter()


async def saturation(relay: Relay, kpis: httpx.AsyncClient, events: int) -> float:
    """Publish `events` single-item status changes at once; the rate the indicators handle them at,
    from the first handled to the last."""
    before = await handled(kpis)
    for _ in range(events):
        await relay.status_change()
    await relay.producer.flush()
    await eventually(lambda: handled(kpis), until=lambda count: count > before, timeout_s=120, interval_s=0.05)
    started, first = time.perf_counter(), await handled(kpis)
    await eventually(lambda: handled(kpis), until=lambda count: count >= before + events, timeout_s=events,
                     interval_s=0.1)
    return (before + events - first) / (time.perf_counter() - started)


async def measure(stack: Stack, desk: Desk, relay: Relay, phase: Phase, args: argparse.Namespace, *,
                  batch_size: int, source: Path | None) -> None:
    url = await stack.start_indicators(batch_size=batch_size, source=source)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {stack.token}"},
                                 timeout=10.0) as kpis:
        # joined, and caught up with what the previous configuration left (the second switch is back
        # to a dispute, so it cannot be mistaken for the item before it was disputed)
        for _ in range(2):
            await probe_once(desk, kpis, timeout_s=900)
        await quiet(kpis)
        if not args.skip_idle:
            phase.idle = await probe_freshness(desk, kpis, args.probes, args.timeout)
        phase.saturation = await saturation(relay, kpis, args.saturation_events)
        await quiet(kpis)
        desk.api_ms.clear()
        desk.refused = 0
        stop = asyncio.Event()
        through_api = asyncio.create_task(desk.background(args.api_rate, stop))
        direct = asyncio.create_task(relay.background(args.rate - args.api_rate, stop))
        await asyncio.sleep(3.0)  # let the load settle in
        before = await batch_totals(kpis)
        try:
            phase.loaded = await probe_freshness(desk, kpis, args.probes, args.timeout)
        finally:
            stop.set()
            (api_sent, api_s), (direct_sent, direct_s) = await through_api, await direct
        phase.batches = tuple(after - first for after, first in zip(await batch_totals(kpis), before))
        phase.api_rate, phase.direct_rate = api_sent / api_s, direct_sent / direct_s
        phase.api_ms, phase.refused = list(desk.api_ms), desk.refused
    assert stack.indicators is not None
    stack.indicators.stop()


def percentiles(samples: list[float | None]) -> str:
    seen = sorted(sample * 1000 for sample in samples if sample is not None)
    if len(seen) < 2:
        return f"{'-':>8} {'-':>8}"
    return f"{statistics.median(seen):>8.0f} {statistics.quantiles(seen, n=20)[-1]:>8.0f}"


def report(phases: list[Phase], args: argparse.Namespace) -> None:
    print(f"\nfreshness: status change accepted by the follow-ups API -> GET /kpis shows it ({args.probes} probes)")
    print(f"{'indicators':>34} {'load':>22} {'p50 ms':>8} {'p95 ms':>8} {'not seen in ' + str(args.timeout) + ' s':>16}")
    for phase in phases:
        rows = [("none", phase.idle)] if phase.idle else []
        rows.append((f"{phase.api_rate + phase.direct_rate:.0f} changes/s", phase.loaded))
        for load, samples in rows:
            missing = f"{sum(s is None for s in samples)}/{len(samples)}"
            print(f"{phase.label:>34} {load:>22} {percentiles(samples)} {missing:>16}")
    print("\nbackground load: single-item status changes through the follow-ups API (POST /wizard/change-status)"
          " + published straight to its topic (items it does not hold):")
    for phase in phases:
        quantiles = statistics.quantiles(phase.api_ms, n=20) if len(phase.api_ms) > 1 else [0.0]
        print(f"{phase.label:>34}: {phase.api_rate:.1f}/s through the API (answered in p50 "
              f"{statistics.median(phase.api_ms or [0.0]):.0f} ms, p95 {quantiles[-1]:.0f} ms, {phase.refused} refused)"
              f" + {phase.direct_rate:.1f}/s direct")
    print("\nthe indicators' change consumer under that load (one transaction per batch):")
    for phase in phases:
        batches, events, seconds, retries = phase.batches
        print(f"{phase.label:>34}: {batches:.0f} batches, {events / max(batches, 1):.1f} events and "
              f"{1000 * seconds / max(batches, 1):.0f} ms per batch on average; {retries:.0f} transactions "
              f"started again after a conflict")
    print(f"\nsaturation: {args.saturation_events} single-item status changes published at once")
    for phase in phases:
        print(f"{phase.label:>34}: {phase.saturation:7.1f} events/s")


async def run(infra: Infrastructure, args: argparse.Namespace) -> None:
    stack = Stack(infra, Path(tempfile.mkdtemp(prefix="arf-bench-freshness-")))
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, linger_ms=5)
    await producer.start()
    phases = [] if args.skip_before else [
        Phase(f"before: {args.before_source}" if args.before_source else "before: one event per transaction")]
    phases.append(Phase(f"after: batches of {args.batch_size}"))
    try:
        followups_url = await stack.start_followups()
        async with httpx.AsyncClient(base_url=followups_url, timeout=120.0,
                                     headers={"Authorization": f"Bearer {stack.token}"},
                                     limits=httpx.Limits(max_connections=32)) as followups:
            desk = Desk(followups, random.Random(7))
            relay = Relay(producer, Topics(stack.isolation.topic_prefix))
            started = time.perf_counter()
            await desk.setup()
            print(f"set up through the follow-ups API in {time.perf_counter() - started:.0f} s "
                  f"(logs in {stack.folder})")
            for phase in phases:
                after = phase is phases[-1]
                await measure(stack, desk, relay, phase, args, batch_size=args.batch_size if after else 1,
                              source=None if after else args.before_source)
                print(f"{phase.label}: done")
    finally:
        await producer.stop()
        stack.stop()
    report(phases, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=100.0, help="Background status changes per second")
    parser.add_argument("--api-rate", type=float, default=10.0,
                        help="Of which through the follow-ups API (the rest straight to its topic)")
    parser.add_argument("--probes", type=int, default=40, help="Probes per phase")
    parser.add_argument("--timeout", type=float, default=30.0, help="Give up on a probe after this many seconds")
    parser.add_argument("--batch-size", type=int, default=200, help="ARF_INDICATORS_BATCH_SIZE for 'after'")
    parser.add_argument("--saturation-events", type=int, default=3000)
    parser.add_argument("--before-source", type=Path, help="Source tree of the 'before' indicators service")
    parser.add_argument("--skip-before", action="store_true")
    parser.add_argument("--skip-idle", action="store_true", help="No probes without background load")
    args = parser.parse_args()
    with infrastructure() as infra:
        print(infra.describe())
        asyncio.run(run(infra, args))


if __name__ == "__main__":
    main()
