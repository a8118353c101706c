"""Builders for dunning tests: snapshots, clients, statuses and the default scenario."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from services.dunning.domain.default_scenario import default_scenario
from services.dunning.domain.scenarios import Scenario, ScenarioDraft
from services.dunning.domain.state import ClientState, StatusRule
from shared.contracts.receivables import ClientUpserted, ItemStatusDefined
from shared.contracts.values import ActionType, Contact, ItemSnapshot, StatusCategory, UserRef

TENANT = "acme"
DUE = date(2026, 3, 1)


def saved(draft: ScenarioDraft | None = None, *, version: int = 1, tenant_id: str = TENANT) -> Scenario:
    draft = draft or default_scenario()
    return Scenario(**draft.model_dump(), tenant_id=tenant_id, version=version)


def snapshot(item_id: str = "i1", *, client_id: str = "c1", version: int = 1, due: date = DUE,
             open_amount: str = "100.00", held_by: str | None = None, status: str | None = None,
             changed: date | None = None, held_type: ActionType | None = None) -> ItemSnapshot:
    moment = datetime.combine(changed or due, datetime.min.time(), tzinfo=UTC) + timedelta(hours=version)
    return ItemSnapshot(
        item_id=item_id, client_id=client_id, number=f"INV-{item_id}", issue_date=due - timedelta(days=30),
        due_date=due, amount=Decimal("100.00"), open_amount=Decimal(open_amount), currency="EUR",
        status_code=status, held_by_action_id=held_by,
        held_by_action_type=held_type or (ActionType.FOLLOW_UP if held_by else None),
        version=version, changed_at=moment,
    )


def collector() -> UserRef:
    return UserRef(user_id="u-col", name="Jean Martin", email="jean.martin@acme.example", phone="+33 1 23 45 67 89")


def client_event(client_id: str = "c1", *, version: int = 1, excluded: bool = False, scenario_code: str | None = None,
                 with_contact: bool = True, language: str = "fr") -> ClientUpserted:
    contacts = [Contact(contact_id=f"{client_id}-k", name="Marie Dupont", email=f"marie@{client_id}.example",
                        is_primary=True)] if with_contact else []
    return ClientUpserted(client_id=client_id, number=f"C-{client_id}", name=f"Client {client_id}", entity_id="fr",
                          language=language, currency="EUR", collector=collector(), scenario_code=scenario_code,
                          dunning_excluded=excluded, contacts=contacts, version=version)


def client_state(client_id: str = "c1", **kwargs: object) -> ClientState:
    event = client_event(client_id, **kwargs)  # type: ignore[arg-type]
    return ClientState.model_validate(event.model_dump())


def status_event(code: str = "price_dispute", *, category: StatusCategory = StatusCategory.DISPUTE,
                 takes_out: bool = True, version: int = 1) -> ItemStatusDefined:
    return ItemStatusDefined(code=code, labels={"en": code.replace("_", " "), "fr": code}, category=category,
                             counts_as_dispute=category is StatusCategory.DISPUTE, takes_out_of_dunning=takes_out,
                             version=version)


def status_rules(*events: ItemStatusDefined) -> dict[str, StatusRule]:
    return {e.code: StatusRule.model_validate(e.model_dump()) for e in events}
