"""The fakes' one state: every collection of the followups database, keyed like their `_id`s."""

from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from shared.contracts.values import ItemSnapshot
from services.followups.domain.actions import Action
from services.followups.domain.history import HistoryEntry
from services.followups.domain.links import LinkRecord
from services.followups.domain.parties import Client, TenantSettings, User
from services.followups.domain.statuses import ItemStatus
from services.followups.domain.templates import ActionTemplate

M = TypeVar("M", bound=BaseModel)
Key = tuple[str, str]  # (tenant, key): what the `_id` of a MongoDB document stands for


@dataclass
class State:
    """Every collection of the followups database, as dictionaries keyed like their `_id`s."""

    clients: dict[Key, Client] = field(default_factory=dict)
    items: dict[Key, ItemSnapshot] = field(default_factory=dict)
    users: dict[Key, User] = field(default_factory=dict)
    statuses: dict[Key, ItemStatus] = field(default_factory=dict)
    templates: dict[Key, ActionTemplate] = field(default_factory=dict)
    tenants: dict[str, TenantSettings] = field(default_factory=dict)
    actions: dict[Key, Action] = field(default_factory=dict)
    history: dict[Key, HistoryEntry] = field(default_factory=dict)
    qualifications: dict[Key, dict[str, Any]] = field(default_factory=dict)
    emails: dict[Key, dict[str, Any]] = field(default_factory=dict)
    attachments: dict[Key, dict[str, Any]] = field(default_factory=dict)
    links: dict[Key, LinkRecord] = field(default_factory=dict)
    forms: set[tuple[str, str, str]] = field(default_factory=set)
    posts: dict[tuple[str, str, int], int] = field(default_factory=dict)
    replies: dict[Key, dict[str, Any]] = field(default_factory=dict)


def of_tenant(table: dict[Key, M], tenant_id: str) -> list[M]:
    return [value for (tenant, _), value in table.items() if tenant == tenant_id]


def page_of(values: list[Any], skip: int, limit: int) -> list[Any]:
    return values[skip:skip + limit]
