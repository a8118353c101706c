"""Issued links (revocation, forms sent once, POSTs per minute) and handled replies in memory."""

import copy
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.contracts.values import Actor
from services.followups.domain.links import LinkRecord
from services.followups.ports import AlreadyRecorded
from tests.followups.fakes.state import State, of_tenant


class FakeLinks:
    def __init__(self, state: State) -> None:
        self.state = state

    async def add(self, tenant_id: str, records: Sequence[LinkRecord]) -> None:
        for record in records:
            self.state.links[(tenant_id, record.link_id)] = record

    async def get(self, tenant_id: str, link_id: str) -> LinkRecord | None:
        return self.state.links.get((tenant_id, link_id))

    async def tenant_of(self, link_id: str) -> str | None:
        return next((tenant_id for tenant_id, key in self.state.links if key == link_id), None)

    async def of_action(self, tenant_id: str, action_id: str, *, recipient: str | None = None
                        ) -> list[LinkRecord]:
        found = [r for r in of_tenant(self.state.links, tenant_id) if r.action_id == action_id
                 and (recipient is None or r.recipient == recipient.lower())]
        return sorted(found, key=lambda r: r.issued_at)

    async def revoke(self, tenant_id: str, *, link_id: str | None = None, recipient: str | None = None,
                     by: Actor, at: datetime, reason: str) -> int:
        revoked = 0
        for key, record in list(self.state.links.items()):
            if key[0] != tenant_id or record.revoked or (link_id is not None and record.link_id != link_id) \
                    or (recipient is not None and record.recipient != recipient.lower()):
                continue
            self.state.links[key] = record.model_copy(update={"revoked": True, "revoked_at": at, "revoked_by": by,
                                                              "revoke_reason": reason})
            revoked += 1
        return revoked

    async def use_form(self, tenant_id: str, link_id: str, nonce: str, *, at: datetime) -> bool:
        if (tenant_id, link_id, nonce) in self.state.forms:
            return False
        self.state.forms.add((tenant_id, link_id, nonce))
        return True

    async def count_post(self, tenant_id: str, link_id: str, *, at: datetime) -> int:
        minute = (tenant_id, link_id, int(at.timestamp() // 60))
        self.state.posts[minute] = self.state.posts.get(minute, 0) + 1
        return self.state.posts[minute]


class FakeReplies:
    def __init__(self, state: State) -> None:
        self.state = state

    async def seen(self, tenant_id: str, reply_id: str) -> bool:
        return (tenant_id, reply_id) in self.state.replies

    async def add(self, tenant_id: str, record: dict[str, Any]) -> None:
        if (tenant_id, record["reply_id"]) in self.state.replies:
            raise AlreadyRecorded(f"reply {record['reply_id']}")
        self.state.replies[(tenant_id, record["reply_id"])] = copy.deepcopy(record)
