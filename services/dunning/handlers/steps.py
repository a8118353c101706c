"""Scenario steps on their day: find the items due, and record a batch of groups (one email per client,
step and day) with its outbox events in one unit of work that re-reads what it decides on.

Safe with several runners: the items are moved only if still as read (else the batch is decided again
on what is stored now), and a group already recorded by another runner is a `Duplicate`: nothing is
sent twice. A crash mid-batch leaves nothing of the batch written.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from services.dunning.domain.decisions import StepRecord, decide_group, group_base, next_group_key
from services.dunning.domain.messages import CompanyProfile
from services.dunning.domain.passes import Batch, still_due
from services.dunning.domain.progress import ItemDue, due_step
from services.dunning.domain.scenarios import Scenario
from services.dunning.ports import DunningUnitOfWork, Move, Tx
from shared.contracts.email import EmailRequested
from shared.platform.clock import Clock
from shared.ports import Duplicate, Flow


class StaleBatch(Exception):
    """An item of the batch changed after it was read; nothing of the batch was written."""


@dataclass
class Decided:
    """What deciding a batch gave: the records, the emails, the item moves, the groups left waiting."""

    records: list[StepRecord] = field(default_factory=list)
    emails: list[EmailRequested] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    waiting_for_client: int = 0


@dataclass
class BatchOutcome:
    """What recording one batch did (committed, or dropped as another runner's)."""

    decided: Decided
    conflicts: int = 0
    progressed: bool = False


async def find_due(tenant_id: str, as_of: date, tx: Tx, *, room: int) -> list[tuple[Scenario, ItemDue]]:
    """At most `room` due items: one indexed query per scenario step, items at that step whose due date
    makes it due."""
    found: list[tuple[Scenario, ItemDue]] = []
    for scenario in await tx.scenarios.scenarios_of(tenant_id):
        for step in scenario.steps:
            left = room - len(found)
            if left <= 0:
                return found
            items = await tx.items.due_items(tenant_id, scenario.code, step.code,
                                             as_of - timedelta(days=step.offset_days), limit=left)
            found += [(scenario, d) for d in (due_step(i, scenario, as_of) for i in items) if d is not None]
    return found


async def record_due_steps(tenant_id: str, batch: Batch, as_of: date, *, uow: DunningUnitOfWork, clock: Clock,
                           default_company: str = "") -> BatchOutcome:
    """Decide and record the batch's groups; an item changed since the due query makes it decide again once
    on a fresh read; a group another runner recorded first drops the batch (a conflict, nothing sent)."""
    outcome = BatchOutcome(Decided())
    reread = False

    async def work(tx: Tx) -> None:
        decided = await _decide(tx, tenant_id, batch, as_of, clock, default_company, reread=reread)
        await tx.records.insert_records(decided.records)
        if not await tx.items.move_items(tenant_id, decided.moves):
            raise StaleBatch()  # an item changed since it was read: decide again on what is stored now
        await tx.publisher.steps_recorded(decided.records, decided.emails)
        outcome.decided = decided

    try:
        try:
            await uow.run(work, flow=Flow(tenant_id))
        except StaleBatch:
            outcome.conflicts += 1
            reread = True
            await uow.run(work, flow=Flow(tenant_id))
    except (Duplicate, StaleBatch):
        outcome.conflicts += 1  # another runner recorded these groups first: nothing is sent twice
        outcome.decided = Decided()
        outcome.progressed = True
        return outcome
    outcome.progressed = bool(outcome.decided.records)
    return outcome


async def _decide(tx: Tx, tenant_id: str, batch: Batch, as_of: date, clock: Clock, default_company: str, *,
                  reread: bool) -> Decided:
    """Decide on the state right before anything goes out: clients and statuses are read in the
    transaction; items as the due query read them, each write conditional on the item being unchanged
    (else the batch is decided again on a fresh read: `reread`)."""
    item_ids = [entry.item.item_id for entries in batch.values() for entry in entries]
    if reread:
        fresh = await tx.items.items_by_id(tenant_id, item_ids)
    else:
        fresh = {entry.item.item_id: entry.item for entries in batch.values() for entry in entries}
    clients = await tx.clients.clients_by_id(tenant_id, {key[0] for key in batch})
    statuses = await tx.clients.status_rules(tenant_id)
    scenarios = {s.code: s for s in await tx.scenarios.scenarios_of(tenant_id)}
    company = await tx.scenarios.company(tenant_id) or CompanyProfile(name=default_company or tenant_id)
    bases = {key: group_base(tenant_id, key[0], key[1], key[2], as_of) for key in batch}
    used = await tx.records.group_keys_used(tenant_id, list(bases.values()))
    decided = Decided()
    updates: dict[str, dict[str, Any]] = {}
    now = clock.now()
    for key, entries in batch.items():
        client_id, scenario_code, step_code = key
        scenario = scenarios.get(scenario_code)
        if scenario is None:
            continue
        due = still_due(entries, fresh, scenario, step_code, as_of)
        if not due:
            continue
        client = clients.get(client_id)
        if client is None:
            # Not heard of the client yet (its event is on another topic): without its contacts,
            # language and exclusion flag nothing can be decided; the items stay due until it comes.
            decided.waiting_for_client += len(due)
            continue
        group_key = next_group_key(bases[key], used.get(bases[key], set()))
        decision = decide_group(due, key=group_key, base_key=bases[key], tenant_id=tenant_id, client=client,
                                scenario=scenario, statuses=statuses, company=company, today=as_of, now=now)
        decided.records += decision.records
        updates.update(decision.item_updates)
        if decision.email is not None:
            decided.emails.append(decision.email)
    decided.moves = [(fresh[item_id], fields) for item_id, fields in updates.items()]
    return decided

