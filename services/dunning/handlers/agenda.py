"""The agenda: scenario steps waiting for the collector and specific actions, per date range; and the
collector's answers to a waiting step (confirm, skip, postpone), each kept in the step's trail."""

from collections.abc import Awaitable, Callable
from datetime import date

from services.dunning.domain.agenda import AgendaConflict, AgendaEntry, AgendaNotFound, action_entry, record_entry
from services.dunning.domain.decisions import AgendaState, StepRecord, build_step_email
from services.dunning.domain.messages import CompanyProfile
from services.dunning.domain.progress import Reason, suppressed_by
from services.dunning.domain.state import ClientState, RunState
from services.dunning.handlers.actions import run_action
from services.dunning.ports import DunningUnitOfWork, Tx
from shared.contracts.dunning import StepOutcome
from shared.identity import Principal
from shared.platform.clock import Clock
from shared.ports import Duplicate, Flow

Work = Callable[[Tx], Awaitable[StepRecord]]


async def agenda_entries(tenant_id: str, *, first: date, last: date, collector_id: str | None,
                         include_skipped: bool, uow: DunningUnitOfWork) -> list[AgendaEntry]:
    """Waiting steps and specific actions not finished, in the range, for one collector's clients or all."""
    tx = uow.reading()
    records = await tx.records.agenda_records(tenant_id, first, last)
    if include_skipped:
        records += await tx.records.records_between(tenant_id, first, last, outcome=StepOutcome.SKIPPED.value)
    actions = [a for a in await tx.actions.actions_between(tenant_id, first, last)
               if a.run_state is not RunState.FINISHED]
    client_ids = {r.client_id for r in records} | {a.action.client_id for a in actions}
    clients = await tx.clients.clients_by_id(tenant_id, client_ids)
    if collector_id is not None:
        allowed = {cid for cid, c in clients.items() if c.collector and c.collector.user_id == collector_id}
        records = [r for r in records if r.client_id in allowed]
        actions = [a for a in actions if a.action.client_id in allowed]
    items = await tx.items.items_by_id(tenant_id, {i for a in actions for i in a.action.item_ids})
    entries = [record_entry(r, clients.get(r.client_id)) for r in records]
    entries += [action_entry(state, clients.get(state.action.client_id), items) for state in actions]
    return sorted(entries, key=lambda e: (e.date, e.client_number or e.client_id, e.kind, e.id))


async def confirm_step(tenant_id: str, record_id: str, *, by: Principal, note: str | None, uow: DunningUnitOfWork,
                       clock: Clock, default_company: str = "") -> StepRecord:
    """An automatic step to be confirmed goes out now (items checked again); a manual one is marked done."""

    async def work(tx: Tx) -> StepRecord:
        record = await _open_record(tx, tenant_id, record_id)
        trail = {"action": "confirmed", "by": by.user_id, "at": clock.now(), "note": note}
        if not record.needs_confirmation:
            trail["action"] = "performed"
            done = record.model_copy(update={"agenda_state": AgendaState.DONE, "trail": [*record.trail, trail]})
            await tx.records.replace_record(done)
            return done
        sent = await _send_confirmed(tx, tenant_id, record, by=by, clock=clock, default_company=default_company)
        done = record.model_copy(update={"agenda_state": AgendaState.DONE, "trail": [*record.trail, trail],
                                         "email_request_id": sent.email_request_id,
                                         "idempotency_key": sent.idempotency_key})
        await tx.records.replace_record(done)
        return done

    return await _answer(tenant_id, work, uow)


async def _send_confirmed(tx: Tx, tenant_id: str, record: StepRecord, *, by: Principal, clock: Clock,
                          default_company: str) -> StepRecord:
    """Record and send the confirmed step for the items still in dunning; refuse when none is left."""
    scenario = await tx.scenarios.scenario(tenant_id, record.scenario_code)
    step = scenario.step(record.step_code) if scenario else None
    if scenario is None or step is None:
        raise AgendaConflict(f"step {record.step_code!r} no longer exists in scenario {record.scenario_code!r}: "
                             "skip this entry instead")
    items = await tx.items.items_by_id(tenant_id, record.item_ids)
    client = await tx.clients.client(tenant_id, record.client_id) or ClientState(client_id=record.client_id)
    statuses = await tx.clients.status_rules(tenant_id)
    live = [item for item in items.values() if suppressed_by(item, client, statuses) is None]
    if not live:
        reasons = sorted({w.detail for i in items.values() if (w := suppressed_by(i, client, statuses))})
        raise AgendaConflict("nothing left to send: " + ("; ".join(reasons) or "the items are unknown") +
                             ". Skip this entry instead")
    company = await tx.scenarios.company(tenant_id) or CompanyProfile(name=default_company or tenant_id)
    email = build_step_email(key=record.group_key, step=step, client=client, items=live, scenario=scenario,
                             statuses=statuses, company=company, today=clock.today())
    if email is None:
        raise AgendaConflict("the client has no contact with a deliverable email address: skip this entry or "
                             "add a contact first")
    sent = record.model_copy(update={
        "record_id": f"{record.group_key}|sent", "outcome": StepOutcome.SENT, "reason_code": Reason.CONFIRMED,
        "reason": f"{step.label} confirmed by {by.name or by.user_id} and sent",
        "items": [i for i in record.items if i.item_id in {x.item_id for x in live}],
        "agenda_state": None, "agenda_on": None, "needs_confirmation": False, "recorded_at": clock.now(),
        "idempotency_key": email.idempotency_key, "email_request_id": email.request_id, "trail": [],
    })
    await tx.records.insert_records([sent])
    await tx.publisher.steps_recorded([sent], [email])
    return sent


async def skip_step(tenant_id: str, record_id: str, *, by: Principal, reason: str, uow: DunningUnitOfWork,
                    clock: Clock) -> StepRecord:
    """The step is not performed: the entry is closed and the skip is published with its reason."""

    async def work(tx: Tx) -> StepRecord:
        record = await _open_record(tx, tenant_id, record_id)
        trail = {"action": "skipped", "by": by.user_id, "at": clock.now(), "note": reason}
        skipped = record.model_copy(update={"agenda_state": AgendaState.SKIPPED, "trail": [*record.trail, trail]})
        await tx.records.replace_record(skipped)
        event = record.model_copy(update={"outcome": StepOutcome.SKIPPED, "reason_code": Reason.SKIPPED_BY_COLLECTOR,
                                          "reason": f"skipped by {by.name or by.user_id}: {reason}"})
        await tx.publisher.steps_recorded([event], [])
        return skipped

    return await _answer(tenant_id, work, uow)


async def postpone_step(tenant_id: str, record_id: str, *, by: Principal, to: date, uow: DunningUnitOfWork,
                        clock: Clock) -> StepRecord:
    """The entry moves to a later day (only later than today)."""
    if to <= clock.today():
        raise AgendaConflict(f"postpone to a day after today ({clock.today().isoformat()})")

    async def work(tx: Tx) -> StepRecord:
        record = await _open_record(tx, tenant_id, record_id)
        trail = {"action": "postponed", "by": by.user_id, "at": clock.now(), "note": to.isoformat()}
        moved = record.model_copy(update={"agenda_on": to, "trail": [*record.trail, trail]})
        await tx.records.replace_record(moved)
        return moved

    return await _answer(tenant_id, work, uow)


async def _open_record(tx: Tx, tenant_id: str, record_id: str) -> StepRecord:
    record = await tx.records.record(tenant_id, record_id)
    if record is None or record.agenda_state is None:
        raise AgendaNotFound(f"no agenda entry {record_id!r}")
    if record.agenda_state is not AgendaState.OPEN:
        raise AgendaConflict(f"this entry is already {record.agenda_state.value}")
    return record


async def _answer(tenant_id: str, work: Work, uow: DunningUnitOfWork) -> StepRecord:
    try:
        return await uow.run(work, flow=Flow(tenant_id))
    except Duplicate as exc:
        raise AgendaConflict("this entry was answered at the same moment by someone else") from exc


async def confirm_action(tenant_id: str, action_id: str, *, by: Principal, uow: DunningUnitOfWork, clock: Clock,
                         default_company: str = "") -> str:
    """Queue a to-be-confirmed action; it runs now when its date has come, otherwise on its date."""

    async def work(tx: Tx) -> None:
        state = await tx.actions.action(tenant_id, action_id)
        if state is None:
            raise AgendaNotFound(f"no action {action_id!r}")
        if state.run_state is not RunState.AWAITING_CONFIRMATION:
            raise AgendaConflict(f"action {action_id!r} is {state.run_state.value}, not waiting for confirmation")
        await tx.actions.save_action(tenant_id, state.model_copy(update={
            "run_state": RunState.PENDING, "confirmed_by": by.user_id}))

    await uow.run(work, flow=Flow(tenant_id))
    result = await run_action(tenant_id, action_id, as_of=clock.today(), uow=uow, clock=clock,
                              default_company=default_company)
    return result or RunState.PENDING.value
