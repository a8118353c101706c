"""The suppression list: what a credit manager adds and removes, and what bounces and unsubscribes add."""

from datetime import datetime

from services.mailer.domain.suppressions import Suppression, SuppressionScope, SuppressionSource, entry_to_keep, new_entry
from services.mailer.ports import MailerTx, SuppressionList
from shared.ports import Flow, UnitOfWork


async def suppress(suppressions: SuppressionList, tenant_id: str, email: str, *, reason: str,
                   source: SuppressionSource, at: datetime, scope: SuppressionScope = SuppressionScope.ALL,
                   send_id: str | None = None, by: str | None = None) -> Suppression:
    """Put an address on the list, or widen or refresh its entry (never narrow it); returns what is kept."""
    entry = new_entry(email, reason=reason, source=source, at=at, scope=scope, send_id=send_id, by=by)
    kept = entry_to_keep(await suppressions.get(tenant_id, email), entry)
    if kept is entry:
        await suppressions.put(tenant_id, entry)
    return kept


async def add_suppression(uow: UnitOfWork[MailerTx], tenant_id: str, email: str, *, reason: str,
                          scope: SuppressionScope, at: datetime, by: str) -> Suppression:
    """A credit manager stops sending to an address (all emails, or automatic ones only)."""
    return await uow.run(lambda tx: suppress(tx.suppressions, tenant_id, email, reason=reason, scope=scope,
                                             source=SuppressionSource.ADMIN, at=at, by=by), flow=Flow(tenant_id))


async def remove_suppression(uow: UnitOfWork[MailerTx], tenant_id: str, email: str) -> bool:
    """Send to an address again; False when it was not on the list."""
    return await uow.run(lambda tx: tx.suppressions.remove(tenant_id, email), flow=Flow(tenant_id))


async def list_suppressions(uow: UnitOfWork[MailerTx], tenant_id: str, *, limit: int,
                            after: str | None = None) -> list[Suppression]:
    """A tenant's entries, by address."""
    return await uow.reading().suppressions.entries(tenant_id, limit=limit, after=after)
