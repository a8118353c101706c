"""Sweeping stored attachment bytes no record points to (an upload whose transaction failed, a crash)."""

import asyncio
import logging
from datetime import timedelta

from shared.platform.clock import Clock
from services.followups.ports import Files

ORPHAN_AGE = timedelta(hours=1)  # older than any upload still waiting for its record's transaction
SWEEP_INTERVAL_S = 3600.0
log = logging.getLogger(__name__)


async def sweep_orphan_attachments(files: Files, clock: Clock, *, interval_s: float = SWEEP_INTERVAL_S) -> None:
    """Forever: delete orphaned bytes older than ORPHAN_AGE, then wait `interval_s`."""
    while True:
        removed = await files.sweep_orphans(older_than=clock.now() - ORPHAN_AGE)
        if removed:
            log.info("removed %d attachment file(s) no record points to", removed)
        await asyncio.sleep(interval_s)
