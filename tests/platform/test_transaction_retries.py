"""A consumer's transaction that meets a write conflict is started again, and the restart is counted,
on the real database: a consumer quietly retrying is otherwise invisible (it only gets slower)."""

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from shared.platform.clock import SystemClock
from shared.platform.consumer import EventRouter
from shared.platform.metrics import Metrics
from shared.platform.settings import ConsumerSettings
from devstack.testing.infra import Infrastructure
from devstack.testing.services import Isolation


def retries(metrics: Metrics, consumer: str) -> float:
    """The counter as /metrics shows it."""
    sample = f'arf_transaction_retries_total{{consumer="{consumer}"}} '
    lines = [line for line in metrics.render().decode().splitlines() if line.startswith(sample)]
    return float(lines[0].rsplit(" ", 1)[1]) if lines else 0.0


async def test_a_transaction_meeting_a_write_conflict_runs_again_and_the_retry_is_counted(
    infra: Infrastructure, isolation: Isolation,
) -> None:
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb_url)
    figures = client[isolation.database("probe")].figures
    await figures.insert_one({"_id": "tenant", "count": 0})
    metrics = Metrics("probe")
    router = EventRouter(consumer="probe.figures", client=client, processed=None, outbox=None,  # type: ignore[arg-type]
                         dead_letters=None, metrics=metrics, settings=ConsumerSettings(),  # type: ignore[arg-type]
                         clock=SystemClock())
    starts = 0

    async def count_one(session: AsyncClientSession) -> Any:
        nonlocal starts
        starts += 1
        if starts > 1:
            return await figures.update_one({"_id": "tenant"}, {"$inc": {"count": 1}}, session=session)
        async with client.start_session() as other:  # another replica's transaction got there first
            await other.start_transaction()
            await figures.update_one({"_id": "tenant"}, {"$inc": {"count": 10}}, session=other)
            try:
                return await figures.update_one({"_id": "tenant"}, {"$inc": {"count": 1}}, session=session)
            finally:
                await other.commit_transaction()

    try:
        await router._transact(count_one)
        document = await figures.find_one({"_id": "tenant"})
    finally:
        await client.close()
    assert starts == 2
    assert document is not None and document["count"] == 11  # both counted, ours once
    assert retries(metrics, "probe.figures") == 1
