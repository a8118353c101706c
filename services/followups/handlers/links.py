"""Issuing interactive links (one per colleague, recorded with the email that carries it), the signed URLs the
mailer fetches attachments from, and revoking links (one, or every link of a recipient)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shared.contracts.email import AttachmentRef
from shared.contracts.values import ItemSnapshot, Recipient
from shared.links import reply_token, sign_link
from services.followups.ports import Tx
from services.followups.domain.actions import Action
from services.followups.domain.errors import Invalid, NotFound, listed
from services.followups.domain.links import (
    DownloadGrant,
    LinkOptions,
    LinkRecord,
    link_url,
    plan_grant,
    reply_address,
    sign_download,
)
from services.followups.domain.parties import Client, TenantSettings
from services.followups.handlers.context import Caller, Deps, link_keys_of


@dataclass(frozen=True)
class IssuedLink:
    url: str
    reply_to: str
    record: LinkRecord


def issue_link(options: LinkOptions, *, recipient: Recipient, client: Client, items: Sequence[ItemSnapshot],
               action: Action | None, statuses: Sequence[str], settings: TenantSettings, language: str,
               request_id: str, caller: Caller, deps: Deps) -> IssuedLink:
    """A colleague's signed link and reply address, and the record that can revoke them."""
    keys, config, now = link_keys_of(deps), deps.settings, deps.clock.now()
    grant = plan_grant(options, tenant_id=caller.tenant_id, recipient=recipient.email,
                       action_id=action.action_id if action else None,
                       action_item_ids=action.item_ids if action else (),
                       selection=[item.item_id for item in items], known_statuses=statuses,
                       forwarding_allowed=settings.reply_forwarding_allowed, now=now,
                       default_days=config.link_default_days, max_days=config.link_max_days,
                       selection_max_items=config.link_selection_max_items)
    record = LinkRecord(link_id=grant.link_id, client_id=client.client_id, action_id=grant.action_id,
                        item_ids=list(grant.item_ids), recipient=grant.recipient,
                        issued_item_ids=[] if grant.item_ids or action is None else list(action.item_ids),
                        operations=sorted(grant.operations), statuses=list(grant.statuses),
                        forwarding_allowed=grant.forwarding_allowed, language=language,
                        expires_at=grant.expires_at, issued_at=now, issued_by=caller.actor, request_id=request_id)
    return IssuedLink(url=link_url(config.public_base_url, sign_link(grant, keys)),
                      reply_to=reply_address(reply_token(grant, keys), config.mail_inbound_domain), record=record)


async def attachment_refs(attachment_ids: Sequence[str], *, action: Action | None, caller: Caller, deps: Deps,
                          tx: Tx) -> list[AttachmentRef]:
    """Claim checks for documents of the action: the mailer fetches each from a signed, expiring URL."""
    if not attachment_ids:
        return []
    if action is None:
        raise Invalid("documents belong to an action: this email has none", code="attachments_need_action")
    keys = link_keys_of(deps)
    records = {r["attachment_id"]: r for r in await tx.attachments.of_action(caller.tenant_id, action.action_id)}
    unknown = [attachment_id for attachment_id in attachment_ids if attachment_id not in records]
    if unknown:
        raise Invalid(f"not documents of action {action.action_id}: {listed(unknown)}", code="unknown_attachment",
                      attachment_ids=unknown)
    expires = deps.clock.now() + timedelta(days=deps.settings.attachment_url_days)
    base = deps.settings.public_base_url.rstrip("/")
    refs = []
    for attachment_id in dict.fromkeys(attachment_ids):
        record = records[attachment_id]
        token = sign_download(DownloadGrant(tenant_id=caller.tenant_id, attachment_id=attachment_id,
                                            expires_at=expires), keys)
        refs.append(AttachmentRef(attachment_id=attachment_id, filename=record["filename"],
                                  content_type=record["content_type"], size=record["size"], url=f"{base}/d/{token}"))
    return refs


def link_summary(record: LinkRecord) -> dict[str, Any]:
    return record.model_dump(mode="json")


async def links_of_action(action_id: str, *, caller: Caller, deps: Deps) -> list[dict[str, Any]]:
    return [link_summary(r) for r in await deps.read.links.of_action(caller.tenant_id, action_id)]


async def revoke_link(link_id: str, *, reason: str | None, caller: Caller, deps: Deps) -> dict[str, Any]:
    store = deps.read
    if await store.links.get(caller.tenant_id, link_id) is None:
        raise NotFound("link", link_id)
    await store.links.revoke(caller.tenant_id, link_id=link_id, by=caller.actor, at=deps.clock.now(),
                             reason=reason or "revoked by hand")
    record = await store.links.get(caller.tenant_id, link_id)
    assert record is not None
    return link_summary(record)


async def revoke_recipient(recipient: str, *, reason: str | None, caller: Caller, deps: Deps) -> dict[str, Any]:
    """Every link issued to this address stops working (e.g. a colleague who left)."""
    count = await deps.read.links.revoke(caller.tenant_id, recipient=recipient, by=caller.actor,
                                          at=deps.clock.now(), reason=reason or "recipient's links revoked")
    return {"recipient": recipient.lower(), "revoked": count}
