"""One valid payload of every registered event type (the contract tests check the registry has no other)."""

from typing import Any

from shared.contracts.envelope import EventPayload
from shared.contracts.registry import EVENT_TYPES

AT = "2026-03-02T09:30:00+00:00"
ITEM = {"item_id": "I1", "client_id": "C1", "number": "INV-1", "issue_date": "2026-01-05", "due_date": "2026-02-04",
        "amount": "120.00", "open_amount": "120.00", "currency": "EUR", "version": 3, "changed_at": AT}
ACTION = {"action_id": "A1", "client_id": "C1", "type": "email", "name": "Price dispute", "scheduled_for": "2026-03-09",
          "version": 2, "changed_at": AT}
CONTEXT = {"company": {"name": "Acme"}, "as_of": "2026-03-02",
           "client": {"client_id": "C1", "number": "1001", "name": "Dupont SA", "language": "fr", "currency": "EUR"}}
EMAIL = {"request_id": "R1", "idempotency_key": "k1", "client_id": "C1", "purpose": "client"}

SAMPLES: dict[str, dict[str, Any]] = {
    "arf.client.upserted.v1": {"client_id": "C1", "number": "1001", "name": "Dupont SA", "entity_id": "E1",
                               "language": "fr", "currency": "EUR", "version": 1},
    "arf.items.upserted.v1": {"client_id": "C1", "items": [ITEM]},
    "arf.items.closed.v1": {"client_id": "C1", "items": [ITEM]},
    "arf.item-status.changed.v1": {"client_id": "C1", "status_code": "price_dispute", "items": [ITEM]},
    "arf.items.detached.v1": {"client_id": "C1", "action_id": "A1", "action_type": "email", "items": [ITEM]},
    "arf.items.reattached.v1": {"client_id": "C1", "action_id": "A1", "reason": "action_closed", "items": [ITEM]},
    "arf.status.defined.v1": {"code": "price_dispute", "labels": {"en": "Price dispute"}, "category": "dispute",
                              "counts_as_dispute": True, "takes_out_of_dunning": True, "version": 1},
    "arf.action.changed.v1": {"change": "created", "action": ACTION},
    "arf.dunning.step-recorded.v1": {"client_id": "C1", "scenario_code": "standard", "step_code": "first",
                                     "action_type": "email", "due_on": "2026-03-02", "item_ids": ["I1"],
                                     "outcome": "sent"},
    "arf.dunning.action-executed.v1": {"client_id": "C1", "action_id": "A1", "action_version": 2,
                                       "scheduled_for": "2026-03-02", "outcome": "executed", "reason": "due"},
    "arf.email.requested.v1": {**EMAIL, "to": [{"email": "marie@dupont.example"}], "language": "fr",
                               "variants": {"fr": {"subject": "Relance", "body": "Bonjour"}}, "context": CONTEXT},
    "arf.email.delivered.v1": {**EMAIL, "recipients": ["marie@dupont.example"], "message_id": "<m1@acme.example>",
                               "delivered_at": AT},
    "arf.email.failed.v1": {**EMAIL, "recipients": ["marie@dupont.example"], "kind": "permanent",
                            "reason": "550 no such user", "failed_at": AT},
    "arf.reply.received.v1": {"reply_id": "RP1", "client_id": "C1", "action_id": "A1", "from_email": "marie@dupont.example",
                              "kind": "reply", "text": "Paid yesterday", "received_at": AT},
}


def sample(event_type: str) -> EventPayload:
    """The sample payload of a registered type, validated by its contract."""
    return EVENT_TYPES[event_type].model_validate(SAMPLES[event_type])
