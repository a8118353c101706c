"""The agenda: scenario steps waiting for the collector and specific actions, per date range; and the
collector's answers to a waiting step (confirm, skip, postpone), each kept in the step's trail."""

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from services.dunning.actions import run_action
from services.dunning.adapters.publisher import DunningPublisher
from services.dunning.adapters.store import DunningStore
from services.dunning.domain.decisions import AgendaState, StepRecord, build_step_email
from services.dunning.domain.messages import CompanyProfile
from services.dunning.domain.progress import Reason, suppressed_by
from services.dunning.domain.state import ActionState, ClientState, RunState
from shared.contracts.dunning import StepOutcome
from shared.platform.auth import Principal
from shared.platform.clock import Clock
from shared.platform.mongo import run_in_transaction


class AgendaConflict(Exception):
    """The entry is not in a state that allows this answer."""


class AgendaNotFound(Exception):
    pass


class AgendaItem(BaseModel):
    item_id: str
    number: str
    due_date: date | None = None
    open_amount: Decimal | None = None
    currency: str | None = None
    detail: str | None = None


class AgendaEntry(BaseModel):
    """One line of the agenda: a scenario step or a specific action, with what a collector needs to act."""

    kind: str  # scenario_step, specific_action
    id: str
    date: date
    type: str
    name: str
    state: str
    needs_confirmation: bool = False
    outcome: str | None = None
    reason: str | None = None
    client_id: str
    client_number: str | None = None
    client_name: str | None = None
    collector_id: str | None = None
    items: list[AgendaItem] = Field(default_factory=list)
    amounts: dict[str, Decimal] = Field(default_factory=dict)
    trail: list[dict[str, Any]] = Field(default_factory=list)


def _amounts(items: list[AgendaItem]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for item in items:
        if item.currency and item.open_amount is not None:
            totals[item.currency] += item.open_amount
    return dict(totals)


class Agenda:
    def __init__(self, *, store: DunningStore, publisher: DunningPublisher, mongo: AsyncMongoClient, clock: Clock,
                 default_company: str) -> None:
        self.store = store
        self.publisher = publisher
        self.mongo = mongo
        self.clock = clock
        self.default_company = default_company

    async def entries(self, tenant_id: str, *, first: date, last: date, collector_id: str | None,
                      include_skipped: bool) -> list[AgendaEntry]:
        records = await self.store.agenda_records(tenant_id, first, last)
        if include_skipped:
            records += await self.store.records_between(tenant_id, first, last, outcome=StepOutcome.SKIPPED.value)
        actions = [a for a in await self.store.actions_between(tenant_id, first, last)
                   if a.run_state is not RunState.FINISHED]
        client_ids = {r.client_id for r in records} | {a.action.client_id for a in actions}
        clients = await self.store.clients_by_id(tenant_id, client_ids)
        if collector_id is not None:
            allowed = {cid for cid, c in clients.items() if c.collector and c.collector.user_id == collector_id}
            records = [r for r in records if r.client_id in allowed]
            actions = [a for a in actions if a.action.client_id in allowed]
        items = await self.store.items_by_id(tenant_id, {i for a in actions for i in a.action.item_ids})
        entries = [self._record_entry(r, clients.get(r.client_id)) for r in records]
        for state in actions:
            entries.append(self._action_entry(state, clients.get(state.action.client_id), items))
        return sorted(entries, key=lambda e: (e.date, e.client_number or e.client_id, e.kind, e.id))

    @staticmethod
    def _record_entry(record: StepRecord, client: ClientState | None) -> AgendaEntry:
        items = [AgendaItem(**item.model_dump()) for item in record.items]
        state = record.agenda_state.value if record.agenda_state else record.outcome.value
        return AgendaEntry(
            kind="scenario_step", id=record.record_id, date=record.agenda_on or record.due_on,
            type=record.step_type.value, name=record.step_name, state=state,
            needs_confirmation=record.needs_confirmation, outcome=record.outcome.value,
            reason=f"{record.reason_code.value}: {record.reason}", client_id=record.client_id,
            client_number=client.number if client else None, client_name=client.name if client else None,
            collector_id=client.collector.user_id if client and client.collector else None, items=items,
            amounts=_amounts(items), trail=record.trail,
        )

    @staticmethod
    def _action_entry(state: ActionState, client: ClientState | None, known: dict[str, Any]) -> AgendaEntry:
        action = state.action
        items = [AgendaItem(item_id=i, number=known[i].number, due_date=known[i].due_date,
                            open_amount=known[i].open_amount, currency=known[i].currency,
                            detail="closed" if known[i].closed else None) if i in known
                 else AgendaItem(item_id=i, number=i) for i in action.item_ids]
        return AgendaEntry(
            kind="specific_action", id=action.action_id, date=action.scheduled_for, type=action.type.value,
            name=action.name, state=state.run_state.value,
            needs_confirmation=state.run_state is RunState.AWAITING_CONFIRMATION,
            client_id=action.client_id, client_number=client.number if client else None,
            client_name=client.name if client else None,
            collector_id=(action.owner.user_id if action.owner else
                          client.collector.user_id if client and client.collector else None),
            items=items, amounts=_amounts([i for i in items if i.detail != "closed"]),
        )

    # -- answers to a waiting scenario step --

    async def confirm_step(self, tenant_id: str, record_id: str, *, by: Principal, note: str | None) -> StepRecord:
        """An automatic step to be confirmed goes out now (items checked again); a manual one is marked done."""

        async def work(session: AsyncClientSession) -> StepRecord:
            record = await self._open_record(tenant_id, record_id, session)
            trail = {"action": "confirmed", "by": by.user_id, "at": self.clock.now(), "note": note}
            if not record.needs_confirmation:
                trail["action"] = "performed"
                done = record.model_copy(update={"agenda_state": AgendaState.DONE, "trail": [*record.trail, trail]})
                await self.store.replace_record(done, session=session)
                return done
            sent = await self._send_confirmed(session, tenant_id, record, by=by)
            done = record.model_copy(update={"agenda_state": AgendaState.DONE, "trail": [*record.trail, trail],
                                             "email_request_id": sent.email_request_id,
                                             "idempotency_key": sent.idempotency_key})
            await self.store.replace_record(done, session=session)
            return done

        return await self._commit(work)

    async def _send_confirmed(self, session: AsyncClientSession, tenant_id: str, record: StepRecord, *,
                              by: Principal) -> StepRecord:
        scenario = await self.store.scenario(tenant_id, record.scenario_code, session=session)
        step = scenario.step(record.step_code) if scenario else None
        if scenario is None or step is None:
            raise AgendaConflict(f"step {record.step_code!r} no longer exists in scenario {record.scenario_code!r}: "
                                 "skip this entry instead")
        items = await self.store.items_by_id(tenant_id, record.item_ids, session=session)
        client = await self.store.client(tenant_id, record.client_id, session=session) or ClientState(
            client_id=record.client_id)
        statuses = await self.store.status_rules(tenant_id, session=session)
        live = [item for item in items.values() if suppressed_by(item, client, statuses) is None]
        if not live:
            reasons = sorted({w.detail for i in items.values() if (w := suppressed_by(i, client, statuses))})
            raise AgendaConflict("nothing left to send: " + ("; ".join(reasons) or "the items are unknown") +
                                 ". Skip this entry instead")
        company = await self.store.company(tenant_id, session=session) or CompanyProfile(
            name=self.default_company or tenant_id)
        email = build_step_email(key=record.group_key, step=step, client=client, items=live, scenario=scenario,
                                 statuses=statuses, company=company, today=self.clock.today())
        if email is None:
            raise AgendaConflict("the client has no contact with a deliverable email address: skip this entry or "
                                 "add a contact first")
        sent = record.model_copy(update={
            "record_id": f"{record.group_key}|sent", "outcome": StepOutcome.SENT, "reason_code": Reason.CONFIRMED,
            "reason": f"{step.label} confirmed by {by.name or by.user_id} and sent",
            "items": [i for i in record.items if i.item_id in {x.item_id for x in live}],
            "agenda_state": None, "agenda_on": None, "needs_confirmation": False, "recorded_at": self.clock.now(),
            "idempotency_key": email.idempotency_key, "email_request_id": email.request_id, "trail": [],
        })
        await self.store.insert_records([sent], session=session)
        await self.publisher.steps_recorded(session, tenant_id, [sent], [email])
        return sent

    async def skip_step(self, tenant_id: str, record_id: str, *, by: Principal, reason: str) -> StepRecord:
        async def work(session: AsyncClientSession) -> StepRecord:
            record = await self._open_record(tenant_id, record_id, session)
            trail = {"action": "skipped", "by": by.user_id, "at": self.clock.now(), "note": reason}
            skipped = record.model_copy(update={"agenda_state": AgendaState.SKIPPED, "trail": [*record.trail, trail]})
            await self.store.replace_record(skipped, session=session)
            event = record.model_copy(update={"outcome": StepOutcome.SKIPPED,
                                              "reason_code": Reason.SKIPPED_BY_COLLECTOR,
                                              "reason": f"skipped by {by.name or by.user_id}: {reason}"})
            await self.publisher.steps_recorded(session, tenant_id, [event], [])
            return skipped

        return await self._commit(work)

    async def postpone_step(self, tenant_id: str, record_id: str, *, by: Principal, to: date) -> StepRecord:
        if to <= self.clock.today():
            raise AgendaConflict(f"postpone to a day after today ({self.clock.today().isoformat()})")

        async def work(session: AsyncClientSession) -> StepRecord:
            record = await self._open_record(tenant_id, record_id, session)
            trail = {"action": "postponed", "by": by.user_id, "at": self.clock.now(), "note": to.isoformat()}
            moved = record.model_copy(update={"agenda_on": to, "trail": [*record.trail, trail]})
            await self.store.replace_record(moved, session=session)
            return moved

        return await self._commit(work)

    async def _open_record(self, tenant_id: str, record_id: str, session: AsyncClientSession) -> StepRecord:
        record = await self.store.record(tenant_id, record_id, session=session)
        if record is None or record.agenda_state is None:
            raise AgendaNotFound(f"no agenda entry {record_id!r}")
        if record.agenda_state is not AgendaState.OPEN:
            raise AgendaConflict(f"this entry is already {record.agenda_state.value}")
        return record

    async def _commit(self, work: Any) -> StepRecord:
        try:
            result: StepRecord = await run_in_transaction(self.mongo, work)
        except DuplicateKeyError as exc:
            raise AgendaConflict("this entry was answered at the same moment by someone else") from exc
        self.publisher.committed()
        return result

    # -- specific actions waiting for confirmation --

    async def confirm_action(self, tenant_id: str, action_id: str, *, by: Principal) -> str:
        """Queue a to-be-confirmed action; it runs now when its date has come, otherwise on its date."""

        async def work(session: AsyncClientSession) -> None:
            state = await self.store.action(tenant_id, action_id, session=session)
            if state is None:
                raise AgendaNotFound(f"no action {action_id!r}")
            if state.run_state is not RunState.AWAITING_CONFIRMATION:
                raise AgendaConflict(f"action {action_id!r} is {state.run_state.value}, not waiting for confirmation")
            await self.store.save_action(tenant_id, state.model_copy(update={
                "run_state": RunState.PENDING, "confirmed_by": by.user_id}), session=session)

        await run_in_transaction(self.mongo, work)
        result = await run_action(tenant_id, action_id, as_of=self.clock.today(), store=self.store,
                                  publisher=self.publisher, mongo=self.mongo, clock=self.clock,
                                  default_company=self.default_company)
        return result or RunState.PENDING.value
