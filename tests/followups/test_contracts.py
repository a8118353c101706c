"""One contract for each port, run against the fakes (unit) and the MongoDB adapters (integration), so the
fakes the handler tests run on cannot drift from what the database does."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from pymongo import AsyncMongoClient

from shared.contracts.receivables import ItemsUpserted
from shared.contracts.topics import Topics
from shared.contracts.values import SYSTEM, ActionType, Actor, ActorKind, ItemSnapshot, TemplateVariant
from shared.platform.clock import ManualClock
from shared.platform.mongo import TYPE_REGISTRY
from shared.platform.outbox import Outbox
from shared.ports import Flow, UnitOfWork
from services.followups.adapters.attachments import GridFsFiles
from services.followups.adapters.store import ensure_indexes, mongo_unit_of_work
from services.followups.domain.actions import Action
from services.followups.domain.errors import TooLarge, UnsupportedType
from services.followups.domain.history import EntryKind, HistoryEntry
from services.followups.domain.links import LinkRecord
from services.followups.domain.parties import Client, TenantSettings, User
from services.followups.domain.statuses import DEFAULT_STATUSES
from services.followups.domain.templates import ActionTemplate, Audience
from services.followups.ports import AlreadyRecorded, Files, Tx
from tests.followups.fakes import fakes
from tests.followups.links import PDF

T = TypeVar("T")
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
ALICE = Actor(kind=ActorKind.USER, id="u-1", email="alice@acme.example")
BACKENDS = [pytest.param("memory", id="memory"),
            pytest.param("mongo", id="mongo", marks=pytest.mark.integration)]


@dataclass
class Backend:
    uow: UnitOfWork[Tx]
    files: Files
    tenant: str = ""

    async def run(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        return await self.uow.run(work, flow=Flow(self.tenant))

    @property
    def read(self) -> Tx:
        return self.uow.reading()


@pytest.fixture(scope="module", params=BACKENDS)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "memory":
        memory = fakes()
        yield Backend(memory.uow, memory.files)
        return
    infra = request.getfixturevalue("infra")
    client: AsyncMongoClient[Any] = AsyncMongoClient(infra.mongodb_url, tz_aware=True, type_registry=TYPE_REGISTRY)
    db = client[f"contracts_{uuid.uuid4().hex[:10]}"]
    outbox = Outbox(db, source="/services/followups", topics=Topics("contracts."), clock=ManualClock(NOW))
    await ensure_indexes(db)
    try:
        yield Backend(mongo_unit_of_work(client, db, outbox), GridFsFiles(db))
    finally:
        await client.drop_database(db.name)
        await client.close()


@pytest.fixture
def backend(store: Backend) -> Backend:
    store.tenant = "tenant-" + uuid.uuid4().hex[:8]  # each contract in a tenant of its own
    return store


def item(item_id: str, client_id: str = "C1", *, open_amount: str = "100.00", due: date = date(2026, 10, 24),
         status_code: str | None = None, held_by: str | None = None) -> ItemSnapshot:
    return ItemSnapshot(item_id=item_id, client_id=client_id, number=f"INV-{item_id}", issue_date=date(2026, 9, 1),
                        due_date=due, amount=Decimal("100.00"), open_amount=Decimal(open_amount), currency="EUR",
                        status_code=status_code, held_by_action_id=held_by,
                        held_by_action_type=ActionType.FOLLOW_UP if held_by else None, version=1, changed_at=NOW)


def client(client_id: str, name: str, collector_id: str | None = None) -> Client:
    return Client(client_id=client_id, number=client_id, name=name, language="fr", currency="EUR",
                  collector_id=collector_id, version=1, changed_at=NOW)


def action(action_id: str, client_id: str = "C1", *, on: date = date(2026, 12, 1), item_ids: list[str] = ()
           ) -> Action:  # type: ignore[assignment]
    return Action(action_id=action_id, client_id=client_id, type=ActionType.FOLLOW_UP, name=f"Action {action_id}",
                  scheduled_for=on, item_ids=list(item_ids), created_at=NOW, created_by=ALICE, version=1,
                  changed_at=NOW)


def dumped(values: Any) -> Any:
    if isinstance(values, dict):
        return {key: dumped(value) for key, value in values.items()}
    if isinstance(values, list):
        return [dumped(value) for value in values]
    return values.model_dump(mode="json") if hasattr(values, "model_dump") else values


class TestRecords:
    async def test_clients_by_id_many_and_pages_by_name_within_one_tenant(self, backend: Backend) -> None:
        t = backend.tenant
        clients = [client("C2", "Beta", "u-1"), client("C1", "Alpha"), client("C3", "Alpha", "u-1")]
        await backend.run(lambda tx: tx.clients.save_all(t, clients, created={"C1", "C2", "C3"}))
        await backend.run(lambda tx: tx.clients.save_all("other-" + t, [client("C1", "Other")], created={"C1"}))
        read = backend.read
        assert (await read.clients.get(t, "C1")) == clients[1] and await read.clients.get(t, "C9") is None
        assert sorted(await read.clients.many(t, ["C1", "C3", "C9"])) == ["C1", "C3"]
        page = await read.clients.page(t, collector_id=None, skip=0, limit=10)
        assert [c.client_id for c in page] == ["C1", "C3", "C2"]
        assert [c.client_id for c in await read.clients.page(t, collector_id="u-1", skip=1, limit=1)] == ["C2"]

    async def test_users_statuses_templates_and_tenant_settings(self, backend: Backend) -> None:
        t, read = backend.tenant, backend.read
        await read.users.save(t, User(user_id="u-2", name="B", email="b@acme.example", roles=["collector"]))
        await read.users.save(t, User(user_id="u-1", name="A", email="a@acme.example", roles=["admin"], active=False))
        assert [u.user_id for u in await read.users.all(t)] == ["u-1", "u-2"]
        assert list(await read.users.active(t, ["u-1", "u-2", "u-3"])) == ["u-2"]
        await backend.run(lambda tx: tx.statuses.save(t, DEFAULT_STATUSES))
        assert [s.code for s in await read.statuses.all(t)] == sorted(s.code for s in DEFAULT_STATUSES)
        template = ActionTemplate(template_id="tp-1", name="Reminder", type=ActionType.EMAIL, audience=Audience.CLIENT,
                                  variants={"fr": TemplateVariant(subject="Relance", body="Bonjour")}, version=1,
                                  changed_at=NOW)
        await read.templates.save(t, template)
        assert await read.templates.get(t, "tp-1") == template and await read.templates.all(t) == [template]
        assert await read.templates.delete(t, "tp-1") and not await read.templates.delete(t, "tp-1")
        assert not await read.tenants.is_set_up(t) and await read.tenants.settings(t) == TenantSettings()
        await backend.run(lambda tx: tx.tenants.mark_set_up(t, at=NOW))
        with pytest.raises(AlreadyRecorded):
            await backend.run(lambda tx: tx.tenants.mark_set_up(t, at=NOW))
        settings = TenantSettings(default_language="fr")
        await read.tenants.save_settings(t, settings)
        assert await read.tenants.is_set_up(t) and await read.tenants.settings(t) == settings


class TestItems:
    async def test_lookups_selection_across_clients_and_holders(self, backend: Backend) -> None:
        t = backend.tenant
        items = [item("I1"), item("I2", open_amount="0"), item("I3", held_by="A1"), item("J1", "C2")]
        await backend.run(lambda tx: tx.items.insert(t, items))
        read = backend.read
        assert sorted(await read.items.by_ids(t, ["I1", "J1", "nope"])) == ["I1", "J1"]
        assert sorted(await read.items.select(t, "C1", ["I1", "J1"])) == ["I1", "J1"]  # another client's, to say so
        assert sorted(i.item_id for i in await read.items.of_client(t, "C1")) == ["I1", "I2", "I3"]
        assert sorted(i.item_id for i in await read.items.of_client(t, "C1", open_only=True)) == ["I1", "I3"]
        assert [i.item_id for i in await read.items.held_by(t, "C1", "A1")] == ["I3"]
        changed = items[0].model_copy(update={"status_code": "dispute", "version": 2})
        await backend.run(lambda tx: tx.items.save(t, [changed]))
        assert dumped((await read.items.by_ids(t, ["I1"]))["I1"]) == dumped(changed)

    async def test_a_page_of_items_filters_and_sorts_by_due_date(self, backend: Backend) -> None:
        t = backend.tenant
        items = [item("I1", due=date(2026, 11, 1), status_code="dispute"), item("I2", due=date(2026, 10, 1)),
                 item("I3", due=date(2026, 12, 1), open_amount="0"), item("I4", due=date(2026, 10, 1), held_by="A")]
        await backend.run(lambda tx: tx.items.insert(t, items))

        async def page(**filters: Any) -> list[str]:
            query: dict[str, Any] = dict(status_code=None, open_only=None, held=None, overdue_on=None, skip=0,
                                         limit=10) | filters
            return [i.item_id for i in await backend.read.items.page(t, "C1", **query)]

        assert await page() == ["I2", "I4", "I1", "I3"]
        assert await page(status_code="dispute") == ["I1"]
        assert await page(open_only=True) == ["I2", "I4", "I1"] and await page(open_only=False) == ["I3"]
        assert await page(held=True) == ["I4"] and await page(held=False) == ["I2", "I1", "I3"]
        assert await page(overdue_on=date(2026, 11, 1)) == ["I2", "I4"]
        assert await page(skip=1, limit=2) == ["I4", "I1"]


class TestActionsAndHistory:
    async def test_actions_by_id_and_searched_as_summaries_in_date_order(self, backend: Backend) -> None:
        t = backend.tenant
        first = action("A2", on=date(2026, 12, 1), item_ids=["I1", "I2"])
        second = action("A1", "C2", on=date(2027, 1, 5))
        for each in (first, second):
            await backend.run(lambda tx, each=each: tx.actions.save(t, each))  # type: ignore[misc]
        read = backend.read
        assert dumped(await read.actions.get(t, "A2")) == dumped(first) and await read.actions.get(t, "A9") is None
        assert sorted(await read.actions.many(t, ["A1", "A2", "A9"])) == ["A1", "A2"]
        everything: dict[str, Any] = dict(client_id=None, owner_id=None, state=None, action_type=None, date_from=None,
                                          date_to=None, skip=0, limit=10)
        found = await read.actions.search(t, **everything)
        assert [a["action_id"] for a in found] == ["A2", "A1"]
        assert found[0]["item_count"] == 2 and "item_ids" not in found[0] and "content" not in found[0]
        assert "_id" not in found[0] and "tenant_id" not in found[0]
        assert [a["action_id"] for a in await read.actions.search(t, **everything | {"client_id": "C2"})] == ["A1"]
        later = everything | {"date_from": date(2026, 12, 2)}
        assert [a["action_id"] for a in await read.actions.search(t, **later)] == ["A1"]

    async def test_history_of_an_action_oldest_first_of_a_client_newest_first(self, backend: Backend) -> None:
        t = backend.tenant
        entries = [HistoryEntry(client_id="C1", action_id="A1", kind=EntryKind.CONFIRMED, at=NOW, actor=ALICE),
                   HistoryEntry(client_id="C1", action_id="A1", kind=EntryKind.COMMENT_ADDED,
                                at=NOW + timedelta(minutes=1), actor=ALICE, text="hello"),
                   HistoryEntry(client_id="C1", client_level=True, kind=EntryKind.DUNNING_STEP,
                                at=NOW + timedelta(minutes=2), actor=SYSTEM)]
        await backend.run(lambda tx: tx.history.add(t, entries))
        read = backend.read
        assert [e.kind for e in await read.history.of_action(t, "A1")] == [EntryKind.CONFIRMED, EntryKind.COMMENT_ADDED]
        assert [e.kind for e in await read.history.of_action(t, "A1", skip=1, limit=1)] == [EntryKind.COMMENT_ADDED]
        latest = await read.history.latest(t, "A1", EntryKind.CONFIRMED.value)
        assert latest is not None and latest.entry_id == entries[0].entry_id
        assert await read.history.latest(t, "A1", EntryKind.EXECUTED.value) is None
        assert [e.kind for e in await read.history.of_client(t, "C1")] == [EntryKind.DUNNING_STEP]

    async def test_qualifications_emails_and_attachment_records(self, backend: Backend) -> None:
        t = backend.tenant
        record = {"qualification_id": "q1", "client_id": "C1", "item_ids": ["I1", "I2"], "status_code": "dispute",
                  "previous_status_codes": [None, "promise"], "comment": "why", "actor": ALICE.model_dump(),
                  "at": NOW, "action_id": None}
        email = {"request_id": "r1", "action_id": "A1", "client_id": "C1", "state": "requested", "requested_at": NOW}
        attachment = {"attachment_id": "d1", "action_id": "A1", "client_id": "C1", "filename": "a.pdf",
                      "uploaded_at": NOW, "file_id": "f1"}

        async def write(tx: Tx) -> None:
            await tx.qualifications.add(t, record)
            await tx.emails.add(t, [email])
            await tx.attachments.record(t, attachment)
        await backend.run(write)
        read = backend.read
        assert await read.qualifications.of_item(t, "C1", "I2") == [{
            "at": NOW, "actor": ALICE.model_dump(), "status_before": "promise", "status_after": "dispute",
            "comment": "why", "action_id": None}]
        assert [r["qualification_id"] for r in await read.qualifications.of_items(t, "C1", ["I1", "I9"])] == ["q1"]
        await backend.run(lambda tx: tx.emails.record_outcome(t, "r1", state="delivered", at=NOW, details={"x": 1}))
        stored = await read.emails.get(t, "r1")
        assert stored is not None and stored["state"] == "delivered" and stored["outcome"] == {"x": 1}
        assert [e["request_id"] for e in await read.emails.of_action(t, "A1")] == ["r1"]
        got = await read.attachments.get(t, "d1")
        assert got is not None and got["file_id"] == "f1"
        listed = await read.attachments.of_action(t, "A1")
        assert [d["attachment_id"] for d in listed] == ["d1"] and "file_id" not in listed[0]


class TestLinksAndReplies:
    async def test_links_revoked_one_by_one_or_by_recipient_forms_once_posts_counted(self, backend: Backend) -> None:
        t, read = backend.tenant, backend.read
        links = [LinkRecord(link_id=f"l{n}", client_id="C1", action_id="A1", recipient=recipient,
                            operations=["comment"], expires_at=NOW + timedelta(days=30),
                            issued_at=NOW + timedelta(seconds=n), issued_by=ALICE)
                 for n, recipient in ((1, "bob@acme.example"), (2, "eve@acme.example"), (3, "bob@acme.example"))]
        await backend.run(lambda tx: tx.links.add(t, links))
        assert (await read.links.tenant_of("l2"), await read.links.tenant_of("l9")) == (t, None)
        assert [r.link_id for r in await read.links.of_action(t, "A1")] == ["l1", "l2", "l3"]
        assert [r.link_id for r in await read.links.of_action(t, "A1", recipient="BOB@acme.example")] == ["l1", "l3"]
        assert await read.links.revoke(t, link_id="l1", by=ALICE, at=NOW, reason="by hand") == 1
        assert await read.links.revoke(t, recipient="Bob@acme.example", by=ALICE, at=NOW, reason="left") == 1
        revoked = await read.links.get(t, "l1")
        assert revoked is not None and revoked.revoked and revoked.revoke_reason == "by hand"
        assert not (await read.links.get(t, "l2")).revoked  # type: ignore[union-attr]
        assert await read.links.use_form(t, "l2", "n1", at=NOW) and not await read.links.use_form(t, "l2", "n1", at=NOW)
        assert [await read.links.count_post(t, "l2", at=NOW) for _ in range(3)] == [1, 2, 3]
        assert await read.links.count_post(t, "l2", at=NOW + timedelta(minutes=1)) == 1

    async def test_a_reply_is_recorded_once(self, backend: Backend) -> None:
        t = backend.tenant
        record = {"reply_id": "r1", "action_id": "A1", "state": "accepted"}
        assert not await backend.read.replies.seen(t, "r1")
        await backend.run(lambda tx: tx.replies.add(t, record))
        assert await backend.read.replies.seen(t, "r1")
        with pytest.raises(AlreadyRecorded):
            await backend.run(lambda tx: tx.replies.add(t, record))


class TestUnitOfWork:
    async def test_a_failing_unit_of_work_leaves_nothing_behind(self, backend: Backend) -> None:
        t = backend.tenant

        async def work(tx: Tx) -> None:
            await tx.items.insert(t, [item("I1")])
            await tx.events.items_upserted("C1", [item("I1")])
            raise RuntimeError("boom")
        with pytest.raises(RuntimeError):
            await backend.run(work)
        assert await backend.read.items.by_ids(t, ["I1"]) == {}

    async def test_events_are_published_from_inside_a_unit_of_work_only(self, backend: Backend) -> None:
        with pytest.raises(RuntimeError):
            await backend.read.events.items_upserted("C1", [item("I1")])
        await backend.run(lambda tx: tx.events.items_upserted("C1", [item("I1")]))  # staged with its flow
        assert ItemsUpserted.type_name() == "arf.items.upserted.v1"


class TestFiles:
    async def test_bytes_stored_checked_read_and_swept_when_no_record_points_to_them(self, backend: Backend) -> None:
        t, files = backend.tenant, backend.files

        def reader(content: bytes) -> Callable[[int], Awaitable[bytes]]:
            position = 0

            async def read(size: int) -> bytes:
                nonlocal position
                chunk = content[position:position + size]
                position += len(chunk)
                return chunk
            return read

        allowed = frozenset({"application/pdf"})
        kept = await files.store(tenant_id=t, filename="a.pdf", declared_type="", read=reader(PDF),
                                 max_bytes=1024, allowed=allowed, now=NOW)
        assert (kept.content_type, kept.size) == ("application/pdf", len(PDF))
        assert b"".join([chunk async for chunk in files.content(kept.file_id)]) == PDF
        with pytest.raises(TooLarge):
            await files.store(tenant_id=t, filename="b.pdf", declared_type="application/pdf",
                              read=reader(PDF * 100), max_bytes=1024, allowed=allowed, now=NOW)
        with pytest.raises(UnsupportedType):
            await files.store(tenant_id=t, filename="c.pdf", declared_type="application/pdf",
                              read=reader(b"MZ not a pdf"), max_bytes=1024, allowed=allowed, now=NOW)
        orphan = await files.store(tenant_id=t, filename="d.pdf", declared_type="application/pdf", read=reader(PDF),
                                   max_bytes=1024, allowed=allowed, now=NOW)
        record = {"attachment_id": "d1", "action_id": "A1", "file_id": kept.file_id, "uploaded_at": NOW}
        await backend.run(lambda tx: tx.attachments.record(t, record))
        await files.sweep_orphans(older_than=datetime.now(UTC) + timedelta(minutes=1))
        assert b"".join([chunk async for chunk in files.content(kept.file_id)]) == PDF
        with pytest.raises(Exception):
            assert not [chunk async for chunk in files.content(orphan.file_id)]
        await files.discard(kept.file_id)
