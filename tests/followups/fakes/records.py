"""Clients, items, users, statuses, templates and tenants in memory, as the MongoDB repositories keep them."""

from collections.abc import Sequence
from datetime import date, datetime

from shared.contracts.values import ItemSnapshot
from services.followups.domain.parties import Client, TenantSettings, User
from services.followups.domain.statuses import ItemStatus
from services.followups.domain.templates import ActionTemplate
from services.followups.ports import AlreadyRecorded
from tests.followups.fakes.state import State, of_tenant, page_of


class FakeClients:
    def __init__(self, state: State) -> None:
        self.state = state

    async def get(self, tenant_id: str, client_id: str) -> Client | None:
        return self.state.clients.get((tenant_id, client_id))

    async def many(self, tenant_id: str, client_ids: Sequence[str]) -> dict[str, Client]:
        return {c: self.state.clients[(tenant_id, c)] for c in client_ids if (tenant_id, c) in self.state.clients}

    async def save_all(self, tenant_id: str, clients: Sequence[Client], *, created: set[str]) -> None:
        for client in clients:
            self.state.clients[(tenant_id, client.client_id)] = client

    async def page(self, tenant_id: str, *, collector_id: str | None, skip: int, limit: int) -> list[Client]:
        found = [c for c in of_tenant(self.state.clients, tenant_id)
                 if not collector_id or c.collector_id == collector_id]
        return page_of(sorted(found, key=lambda c: (c.name, c.client_id)), skip, limit)


class FakeItems:
    def __init__(self, state: State) -> None:
        self.state = state

    async def by_ids(self, tenant_id: str, item_ids: Sequence[str]) -> dict[str, ItemSnapshot]:
        return {i: self.state.items[(tenant_id, i)] for i in item_ids if (tenant_id, i) in self.state.items}

    async def of_client(self, tenant_id: str, client_id: str, *, open_only: bool = False) -> list[ItemSnapshot]:
        return [item for item in of_tenant(self.state.items, tenant_id)
                if item.client_id == client_id and not (open_only and item.closed)]

    async def select(self, tenant_id: str, client_id: str, item_ids: Sequence[str]) -> dict[str, ItemSnapshot]:
        return await self.by_ids(tenant_id, item_ids)

    async def held_by(self, tenant_id: str, client_id: str, action_id: str) -> list[ItemSnapshot]:
        return [item for item in await self.of_client(tenant_id, client_id) if item.held_by_action_id == action_id]

    async def insert(self, tenant_id: str, items: Sequence[ItemSnapshot]) -> None:
        for item in items:
            if (tenant_id, item.item_id) in self.state.items:
                raise AlreadyRecorded(f"item {item.item_id}")
            self.state.items[(tenant_id, item.item_id)] = item

    async def save(self, tenant_id: str, items: Sequence[ItemSnapshot]) -> None:
        for item in items:
            self.state.items[(tenant_id, item.item_id)] = item

    async def page(self, tenant_id: str, client_id: str, *, status_code: str | None, open_only: bool | None,
                   held: bool | None, overdue_on: date | None, skip: int, limit: int) -> list[ItemSnapshot]:
        found = [item for item in await self.of_client(tenant_id, client_id)
                 if (status_code is None or item.status_code == status_code)
                 and (open_only is None or open_only != item.closed)
                 and (held is None or held == (item.held_by_action_id is not None))
                 and (overdue_on is None or item.due_date < overdue_on)]
        return page_of(sorted(found, key=lambda item: (item.due_date, item.item_id)), skip, limit)


class FakeUsers:
    def __init__(self, state: State) -> None:
        self.state = state

    async def get(self, tenant_id: str, user_id: str) -> User | None:
        return self.state.users.get((tenant_id, user_id))

    async def active(self, tenant_id: str, user_ids: Sequence[str]) -> dict[str, User]:
        return {u: self.state.users[(tenant_id, u)] for u in user_ids
                if (tenant_id, u) in self.state.users and self.state.users[(tenant_id, u)].active}

    async def all(self, tenant_id: str) -> list[User]:
        return sorted(of_tenant(self.state.users, tenant_id), key=lambda u: u.user_id)

    async def save(self, tenant_id: str, user: User) -> None:
        self.state.users[(tenant_id, user.user_id)] = user


class FakeStatuses:
    def __init__(self, state: State) -> None:
        self.state = state

    async def get(self, tenant_id: str, code: str) -> ItemStatus | None:
        return self.state.statuses.get((tenant_id, code))

    async def all(self, tenant_id: str) -> list[ItemStatus]:
        return sorted(of_tenant(self.state.statuses, tenant_id), key=lambda s: s.code)

    async def save(self, tenant_id: str, statuses: Sequence[ItemStatus]) -> None:
        for status in statuses:
            self.state.statuses[(tenant_id, status.code)] = status


class FakeTemplates:
    def __init__(self, state: State) -> None:
        self.state = state

    async def get(self, tenant_id: str, template_id: str) -> ActionTemplate | None:
        return self.state.templates.get((tenant_id, template_id))

    async def all(self, tenant_id: str) -> list[ActionTemplate]:
        return sorted(of_tenant(self.state.templates, tenant_id), key=lambda t: t.name)

    async def save(self, tenant_id: str, template: ActionTemplate) -> None:
        self.state.templates[(tenant_id, template.template_id)] = template

    async def delete(self, tenant_id: str, template_id: str) -> bool:
        return self.state.templates.pop((tenant_id, template_id), None) is not None


class FakeTenants:
    def __init__(self, state: State) -> None:
        self.state = state

    async def is_set_up(self, tenant_id: str) -> bool:
        return tenant_id in self.state.tenants

    async def mark_set_up(self, tenant_id: str, *, at: datetime) -> None:
        if tenant_id in self.state.tenants:
            raise AlreadyRecorded(f"tenant {tenant_id}")
        self.state.tenants[tenant_id] = TenantSettings()

    async def settings(self, tenant_id: str) -> TenantSettings:
        return self.state.tenants.get(tenant_id) or TenantSettings()

    async def save_settings(self, tenant_id: str, settings: TenantSettings) -> None:
        self.state.tenants[tenant_id] = settings
