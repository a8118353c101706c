"""A client's event: keep the client; move its items when its scenario changes, resume them when its
exclusion is lifted. Versions make a redelivered, replayed or out-of-order event harmless."""

from services.dunning.domain.history import HistoryEntry
from services.dunning.domain.progress import paused_by, rewound
from services.dunning.domain.scenarios import scenario_for
from services.dunning.domain.state import ClientState
from services.dunning.handlers.scenarios import tenant_scenarios
from services.dunning.ports import Tx
from shared.contracts.envelope import Envelope
from shared.contracts.receivables import ClientUpserted
from shared.platform.clock import Clock


async def on_client_upserted(event: ClientUpserted, envelope: Envelope, tx: Tx, *, clock: Clock) -> None:
    """Keep the client; move its items when its scenario changes, resume them when exclusion is lifted."""
    tenant_id = envelope.tenant_id
    current = await tx.clients.client(tenant_id, event.client_id)
    if current is not None and event.version <= current.version:
        return
    client = ClientState.model_validate(event.model_dump())
    await tx.clients.save_client(tenant_id, client)
    scenario = scenario_for(await tenant_scenarios(tenant_id, tx, clock), client.scenario_code)
    assert scenario is not None
    lifted = current is not None and current.dunning_excluded and not client.dunning_excluded
    statuses = await tx.clients.status_rules(tenant_id) if lifted else {}
    items = await tx.items.items_of_client(tenant_id, event.client_id)
    moved = [
        rewound(item, scenario) for item in items
        if item.scenario_code != scenario.code or (lifted and paused_by(item, statuses) is None)
    ]
    await tx.items.set_positions(tenant_id, moved)
    if current is None or current.dunning_excluded != client.dunning_excluded:
        what = "excluded from dunning" if client.dunning_excluded else "in dunning"
        await tx.records.add_history([event_entry(envelope, event.client_id, "client", f"client {what}", [])])


def event_entry(envelope: Envelope, client_id: str, kind: str, text: str, item_ids: list[str],
                suffix: str = "") -> HistoryEntry:
    """A history entry caused by an event: its id comes from the event, so a redelivery writes it once."""
    tenant_id = envelope.tenant_id
    return HistoryEntry(entry_id=f"{tenant_id}|{envelope.id}|{kind}|{suffix}", tenant_id=tenant_id,
                        client_id=client_id, kind=kind, text=text, item_ids=item_ids, at=envelope.time,
                        event_id=envelope.id)
