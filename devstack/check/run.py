"""One run of the consistency checker: wait for the consumers' lag to reach zero (printing it), then
compare the services tenant by tenant and the platform tables, and return every difference."""

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from devstack.check import rules
from devstack.check.model import Difference, Target
from devstack.check.platform import ALL_TENANTS, unexpected_dead_letters, unpublished_outbox_rows, wait_for_zero_lag
from devstack.check.sources import read_tenant


async def check(target: Target, say: Callable[[str], None] = print) -> list[Difference]:
    """Every difference found on `target`; each is also printed with its ids."""
    differences = await wait_for_zero_lag(target, say)
    if not differences:  # a backlog would show differences that are only late: compare once it is zero
        for tenant_id in target.tenants:
            view = await read_tenant(target.urls, target.token_for(tenant_id))
            found = rules.holds(tenant_id, view) + rules.emails(tenant_id, view) + rules.indicators(tenant_id, view)
            failed = rules.failed_emails(view)
            say(f"tenant {tenant_id}: {len(view.clients)} clients, "
                f"{sum(len(items) for items in view.items.values())} items, {len(view.actions)} actions, "
                f"{len(view.requested_emails)} emails requested, {len(view.sends)} in the ledger, "
                f"{len(failed)} reported failed")
            for line in failed:
                say(f"  failed with its reason: {line}")
            differences += found
    differences += await _bounded("outbox", unpublished_outbox_rows(target), say)
    differences += await _bounded("dead letters", unexpected_dead_letters(target), say)
    for difference in differences:
        say(difference.line())
    say(f"{len(differences)} differences" if differences else "no difference")
    return differences


async def _bounded(what: str, probe: Coroutine[Any, Any, list[Difference]], say: Callable[[str], None],
                   timeout_s: float = 30.0) -> list[Difference]:
    """A probe that cannot answer is a difference (nothing verified), not a hung check."""
    say(f"checking {what}…")
    task = asyncio.ensure_future(probe)
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if task in done:
        return task.result()
    stack = "".join(f"\n  {where}" for where in _awaiting(task.get_coro()))
    task.cancel()  # not awaited: a client stuck in its own shutdown must not hang the check
    return [Difference("not-checked", ALL_TENANTS, f"{what}: no answer within {timeout_s:.0f} s{stack}")]


def _awaiting(coro: Any) -> list[str]:
    """Where a stuck coroutine waits, outermost first (file:line of each frame down the await chain)."""
    where = []
    while coro is not None and getattr(coro, "cr_frame", None) is not None:
        where.append(f"{coro.cr_frame.f_code.co_filename}:{coro.cr_frame.f_lineno}")
        coro = coro.cr_await
    return where
