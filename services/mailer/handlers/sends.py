"""The send ledger as people see it: list, read, and decide to send an unknown or failed email again."""

from datetime import datetime

from services.mailer.domain.sends import NotResendable, Send, SendQuery, UnknownSend
from services.mailer.ports import MailerTx
from shared.ports import Flow, UnitOfWork


async def list_sends(uow: UnitOfWork[MailerTx], tenant_id: str, query: SendQuery, *, limit: int) -> list[Send]:
    """What happened to a tenant's emails (of a request, an action, a client, in a state), newest first."""
    return await uow.reading().sends.find(tenant_id, query, limit=limit)


async def get_send(uow: UnitOfWork[MailerTx], tenant_id: str, send_id: str) -> Send:
    """One send of the tenant, or UnknownSend."""
    send = await uow.reading().sends.get(tenant_id, send_id)
    if send is None:
        raise UnknownSend(send_id)
    return send


async def resend(uow: UnitOfWork[MailerTx], tenant_id: str, send_id: str, *, by: str, now: datetime) -> Send:
    """Back to pending, attempts reset (the recipient may get it twice, with the same Message-ID);
    UnknownSend, or NotResendable unless the send is unknown or failed. Returns the send as it is now."""

    async def work(tx: MailerTx) -> Send:
        send = await tx.sends.get(tenant_id, send_id)
        if send is None:
            raise UnknownSend(send_id)
        if not await tx.sends.resend(tenant_id, send_id, by=by, now=now):
            raise NotResendable(send)
        updated = await tx.sends.get(tenant_id, send_id)
        assert updated is not None
        return updated

    return await uow.run(work, flow=Flow(tenant_id))
