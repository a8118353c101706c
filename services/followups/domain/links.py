"""Interactive links: what a sender grants a colleague, the record kept per link (revocation), the forms'
CSRF tokens bound to a link, and the signed URLs the mailer fetches attachments from. Pure: no I/O.

A link's signature (shared/links.py) proves what it grants; its record here says whether it still may:
revoked by hand, or read-only once its action is closed. The tenant always comes from the verified token.
"""

import json
import secrets
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.contracts.values import ActionState, Actor, Identifier
from shared.links import LinkGrant, LinkKeys, LinkOperation
from shared.signing import RejectionReason, Signer, TokenRejected, b64, seal, unb64, unseal
from services.followups.domain.errors import Invalid, listed

DOWNLOAD_VERSION = "d1"
FORM_VERSION = "f1"
_FORMS = b"arf-link-form"  # each token kind signs under a key of its own (shared.signing.Signer)
_DOWNLOADS = b"arf-attachment-download"
DEFAULT_OPERATIONS = (LinkOperation.VIEW, LinkOperation.COMMENT, LinkOperation.UPLOAD)


class LinkOptions(BaseModel):
    """What the sender of an internal interactive email lets the colleague do (defaults: view, comment and,
    on an action, upload; changing status only to the statuses listed)."""

    model_config = ConfigDict(extra="forbid")

    operations: list[LinkOperation] | None = Field(
        None, description="Default: view, comment, upload (on an action), plus set_status when statuses are given")
    statuses: Annotated[list[Identifier], Field(max_length=20)] = Field(
        default_factory=list, description="Statuses the colleague may set, e.g. dispute_resolved / legal_collection")
    item_ids: Annotated[list[Identifier], Field(max_length=500)] | None = Field(
        None, description="Only these items of the action (default: the whole action, or the wizard's selection)")
    expires_in_days: int | None = Field(None, ge=1, le=365, description="Default: ARF_LINK_DEFAULT_DAYS")


class LinkRecord(BaseModel):
    """One issued link, as the service keeps it: its scope, and whether it was revoked."""

    model_config = ConfigDict(extra="ignore")

    link_id: str
    client_id: str
    action_id: str | None = None
    item_ids: list[str] = Field(default_factory=list)
    issued_item_ids: list[str] = Field(default_factory=list)  # the action's items when issued: still shown after
    recipient: str
    operations: list[LinkOperation]
    statuses: list[str] = Field(default_factory=list)
    forwarding_allowed: bool = False
    language: str = "en"
    expires_at: datetime
    issued_at: datetime
    issued_by: Actor
    request_id: str | None = None
    revoked: bool = False
    revoked_at: datetime | None = None
    revoked_by: Actor | None = None
    revoke_reason: str | None = None

    def grant(self, tenant_id: str) -> LinkGrant:
        """The scope a short link token stands for: kept here, never in the URL."""
        return LinkGrant(link_id=self.link_id, tenant_id=tenant_id, action_id=self.action_id,
                         item_ids=tuple(self.item_ids), recipient=self.recipient,
                         operations=frozenset(self.operations), statuses=tuple(self.statuses),
                         forwarding_allowed=self.forwarding_allowed, expires_at=self.expires_at)

    def grants(self, grant: LinkGrant) -> bool:
        """The token's scope is the one issued (a second check besides the signature)."""
        return (grant.action_id == self.action_id and list(grant.item_ids) == self.item_ids
                and grant.recipient == self.recipient and set(grant.operations) == set(self.operations)
                and list(grant.statuses) == self.statuses)


def plan_grant(options: LinkOptions, *, tenant_id: str, recipient: str, action_id: str | None,
               action_item_ids: Sequence[str], selection: Sequence[str], known_statuses: Collection[str],
               forwarding_allowed: bool, now: datetime, default_days: int, max_days: int,
               selection_max_items: int) -> LinkGrant:
    """The grant of one colleague's link, checked: statuses known, items in the action, a sane expiry."""
    unknown = [code for code in options.statuses if code not in known_statuses]
    if unknown:
        raise Invalid(f"unknown status in the link: {listed(unknown)}", code="unknown_status", statuses=unknown)
    operations = set(options.operations) if options.operations is not None else set(DEFAULT_OPERATIONS)
    operations.add(LinkOperation.VIEW)
    if options.statuses and options.operations is None:
        operations.add(LinkOperation.SET_STATUS)
    if LinkOperation.SET_STATUS in operations and not options.statuses:
        raise Invalid("set_status needs the statuses the colleague may choose from", code="link_statuses_required")
    if action_id is None:
        if options.operations is not None and LinkOperation.UPLOAD in operations:
            raise Invalid("a document is attached to an action: this email has none", code="upload_needs_action")
        operations.discard(LinkOperation.UPLOAD)
    days = options.expires_in_days or default_days
    if days > max_days:
        raise Invalid(f"a link is valid {max_days} days at most", code="link_too_long", max_days=max_days)
    item_ids = _scope(options, action_id=action_id, action_item_ids=action_item_ids, selection=selection)
    if action_id is None and len(item_ids) > selection_max_items:
        raise Invalid(f"a link names at most {selection_max_items} items: put them in an action and link to it",
                      code="link_scope_too_large", max_items=selection_max_items)
    return LinkGrant(tenant_id=tenant_id, action_id=action_id, item_ids=tuple(item_ids), recipient=recipient.lower(),
                     operations=frozenset(operations), statuses=tuple(options.statuses),
                     forwarding_allowed=forwarding_allowed, expires_at=now + timedelta(days=days))


def _scope(options: LinkOptions, *, action_id: str | None, action_item_ids: Sequence[str],
           selection: Sequence[str]) -> list[str]:
    """Item ids the link names: none for a whole action; a part of it; or the selection (no action)."""
    if action_id is None:
        return list(selection)
    wanted = options.item_ids if options.item_ids is not None else list(selection)
    outside = [item_id for item_id in wanted if item_id not in set(action_item_ids)]
    if outside:
        raise Invalid(f"not in the action: {listed(outside)}", code="not_in_action", item_ids=outside)
    return [] if set(wanted) >= set(action_item_ids) else list(dict.fromkeys(wanted))


def link_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/l/{token}"


def reply_address(token: str, domain: str) -> str:
    return f"reply+{token}@{domain}"


class LinkState(StrEnum):
    """What a verified link may do now."""

    ACTIVE = "active"
    READ_ONLY = "read_only"  # its action is closed (or every item of its selection is)
    REVOKED = "revoked"


def link_state(record: LinkRecord, *, action_state: ActionState | None, open_items: int) -> LinkState:
    if record.revoked:
        return LinkState.REVOKED
    if action_state is not None and action_state != ActionState.OPEN:
        return LinkState.READ_ONLY
    if record.action_id is None and open_items == 0:
        return LinkState.READ_ONLY
    return LinkState.ACTIVE


# -- forms: a CSRF token bound to the link and to one rendering of the page --


class FormRejected(Exception):
    """A form token that is missing, altered, for another link, or too old."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"form rejected: {reason}")


def form_token(keys: LinkKeys, *, tenant_id: str, link_id: str, now: datetime, nonce: str | None = None) -> str:
    """`f1.<key id>.<unix time>.<nonce>.<mac>`: the mac binds link, time and a fresh nonce (one per form)."""
    nonce = nonce or secrets.token_urlsafe(12)
    signed = f"{FORM_VERSION}.{keys.signing_key_id}.{int(now.timestamp())}.{nonce}"
    return f"{signed}.{b64(Signer(keys, _FORMS).mac(tenant_id, f'{signed}|{link_id}'))}"


def check_form_token(token: str | None, keys: LinkKeys, *, tenant_id: str, link_id: str, now: datetime,
                     max_age: timedelta) -> str:
    """The token's nonce (to be used once), or FormRejected."""
    if not token:
        raise FormRejected("missing")
    parts = token.split(".")
    if len(parts) != 5 or parts[0] != FORM_VERSION or not parts[2].isdigit():
        raise FormRejected("malformed")
    _, key_id, issued, nonce, mac = parts
    try:
        Signer(keys, _FORMS).check(tenant_id, f"{'.'.join(parts[:4])}|{link_id}", unb64(mac), key_id=key_id)
    except ValueError:
        raise FormRejected("malformed") from None
    except TokenRejected as exc:
        raise FormRejected("forged" if exc.reason == RejectionReason.FORGED else "malformed") from None
    age = now.timestamp() - int(issued)
    if age > max_age.total_seconds() or age < -300:
        raise FormRejected("expired")
    return nonce


# -- signed attachment URLs (the mailer fetches attachments by reference, without a bearer token) --


class DownloadGrant(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: str
    attachment_id: str
    expires_at: AwareDatetime


def sign_download(grant: DownloadGrant, keys: LinkKeys) -> str:
    payload = json.dumps(grant.model_dump(mode="json"), separators=(",", ":"), sort_keys=True).encode()
    return seal(Signer(keys, _DOWNLOADS), DOWNLOAD_VERSION, grant.tenant_id, payload)


def verify_download(token: str, keys: LinkKeys, *, now: datetime) -> DownloadGrant:
    return unseal(token, DOWNLOAD_VERSION, Signer(keys, _DOWNLOADS), DownloadGrant.model_validate_json,
                  tenant_of=lambda grant: grant.tenant_id, expires_of=lambda grant: grant.expires_at, now=now)

