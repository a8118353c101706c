"""Item statuses: what an admin configures, the defaults every tenant starts with, and their rules."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.contracts.receivables import ItemStatusDefined
from shared.contracts.values import ActionType, LanguageCode, StatusCategory

StatusCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,63}$")]


class StatusDefinition(BaseModel):
    """What an admin sets for a status (the API body of create / replace)."""

    model_config = ConfigDict(extra="forbid")

    labels: dict[LanguageCode, Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                                max_length=100)]] = Field(min_length=1)
    category: StatusCategory
    counts_as_dispute: bool = False
    takes_out_of_dunning: bool = False
    action_model: ActionType | None = Field(
        None, description="The action qualifying items with this status suggests or creates (rule 6)")
    action_delay_days: int = Field(0, ge=0, le=365, description="The suggested action is scheduled this many days on")
    default_owner_id: str | None = Field(None, description="Default resolution owner (a user id)")
    active: bool = True

    @model_validator(mode="after")
    def _resolved_releases(self) -> "StatusDefinition":
        if self.category == StatusCategory.RESOLVED and (
            self.counts_as_dispute or self.takes_out_of_dunning or self.action_model
        ):
            raise ValueError("a resolved status releases items (rule 3): it cannot count as a dispute, "
                             "take items out of dunning or create an action")
        if self.counts_as_dispute and not self.takes_out_of_dunning:
            raise ValueError("a dispute takes its items out of dunning (rule 2): set takes_out_of_dunning")
        return self


class ItemStatus(StatusDefinition):
    """A tenant's status as stored: its code and a version that grows with every change."""

    model_config = ConfigDict(extra="ignore")

    code: StatusCode
    version: int = Field(1, ge=1)

    @property
    def resolves(self) -> bool:
        return self.category == StatusCategory.RESOLVED

    def label(self, language: str, fallback: str = "en") -> str:
        return self.labels.get(language) or self.labels.get(language[:2]) or self.labels.get(fallback) \
            or next(iter(self.labels.values()))

    def defined_event(self) -> ItemStatusDefined:
        return ItemStatusDefined(
            code=self.code, labels=self.labels, category=self.category, counts_as_dispute=self.counts_as_dispute,
            takes_out_of_dunning=self.takes_out_of_dunning, action_model=self.action_model,
            default_owner_id=self.default_owner_id, active=self.active, version=self.version,
        )


def _status(code: str, en: str, fr: str, category: StatusCategory, *, dispute: bool = False, out: bool = False,
            model: ActionType | None = None, delay: int = 0) -> ItemStatus:
    return ItemStatus(code=code, labels={"en": en, "fr": fr}, category=category, counts_as_dispute=dispute,
                      takes_out_of_dunning=out, action_model=model, action_delay_days=delay)


D, P, L, I, R = (StatusCategory.DISPUTE, StatusCategory.PROMISE, StatusCategory.LEGAL, StatusCategory.INFO,
                 StatusCategory.RESOLVED)
FOLLOW_UP, CALL, TASK = ActionType.FOLLOW_UP, ActionType.CALL, ActionType.TASK

DEFAULT_STATUSES: tuple[ItemStatus, ...] = (
    _status("price_dispute", "Price dispute", "Litige prix", D, dispute=True, out=True, model=FOLLOW_UP, delay=7),
    _status("quantity_dispute", "Quantity dispute", "Litige quantité", D, dispute=True, out=True, model=FOLLOW_UP,
            delay=7),
    _status("quality_dispute", "Quality dispute", "Litige qualité", D, dispute=True, out=True, model=FOLLOW_UP,
            delay=7),
    _status("missing_purchase_order", "Missing purchase order", "Bon de commande manquant", D, dispute=True,
            out=True, model=FOLLOW_UP, delay=5),
    _status("promise_to_pay", "Promise to pay", "Promesse de paiement", P, out=True, model=CALL, delay=7),
    _status("payment_plan", "Payment plan", "Échéancier de paiement", P, out=True, model=FOLLOW_UP, delay=30),
    _status("credit_note_requested", "Credit note requested", "Avoir demandé", D, dispute=True, out=True,
            model=FOLLOW_UP, delay=10),
    _status("legal_collection", "Legal collection", "Recouvrement contentieux", L, out=True, model=FOLLOW_UP,
            delay=30),
    _status("dispute_resolved", "Dispute resolved", "Litige résolu", R),
)
"""Every tenant starts with these (installed on its first request); an admin can change or add to them."""
