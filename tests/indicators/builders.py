"""Event builders shared by the unit and integration tests, in the product's words."""

from datetime import UTC, datetime

from shared.contracts.receivables import ClientUpserted, ItemStatusDefined
from shared.contracts.values import StatusCategory, UserRef

DISPUTE_SINCE = datetime(2026, 10, 20, 10, tzinfo=UTC)


def status(code: str, category: StatusCategory, *, dispute: bool, version: int = 1) -> ItemStatusDefined:
    return ItemStatusDefined(code=code, labels={"en": code}, category=category, counts_as_dispute=dispute,
                             takes_out_of_dunning=dispute, version=version)


def client(client_id: str = "c1", *, collector: str | None = "anna", entity: str = "fr", group: str | None = "g1",
           version: int = 1) -> ClientUpserted:
    person = UserRef(user_id=collector, name=collector, email=f"{collector}@acme.example") if collector else None
    return ClientUpserted(client_id=client_id, number=client_id.upper(), name=f"Client {client_id}", entity_id=entity,
                          group_id=group, language="fr", currency="EUR", collector=person, version=version)
