"""The orphan-attachment sweep, on the fakes: bytes no record points to go once they are old enough."""

import asyncio
from datetime import UTC, datetime, timedelta

from shared.platform.clock import ManualClock
from services.followups.workers.attachments import ORPHAN_AGE, sweep_orphan_attachments
from tests.followups.fakes import Fakes, fakes
from tests.followups.links import PDF

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


async def store(memory: Fakes, tenant: str, at: datetime) -> object:
    content = [PDF]

    async def read(size: int) -> bytes:
        return content.pop() if content else b""
    stored = await memory.files.store(tenant_id=tenant, filename="a.pdf", declared_type="application/pdf",
                                      read=read, max_bytes=1024, allowed=frozenset({"application/pdf"}), now=at)
    return stored.file_id


async def test_the_sweep_removes_old_orphans_and_keeps_recorded_or_recent_files() -> None:
    memory = fakes()
    old = NOW - ORPHAN_AGE - timedelta(minutes=1)
    orphan, recorded, recent = (await store(memory, "t1", old), await store(memory, "t1", old),
                                await store(memory, "t1", NOW))
    memory.state.attachments[("t1", "d1")] = {"attachment_id": "d1", "action_id": "A1", "file_id": recorded}
    worker = asyncio.create_task(sweep_orphan_attachments(memory.files, ManualClock(NOW), interval_s=3600))
    for _ in range(10):
        await asyncio.sleep(0)
    worker.cancel()
    assert set(memory.files.stored) == {recorded, recent} and orphan not in memory.files.stored
