"""A scheduler pass, as rules: which due items make one group (client, scenario, step), how groups are
cut into batches (one transaction each), which items of a group are still due when it is decided, and
what a pass reports."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from services.dunning.domain.decisions import StepRecord
from services.dunning.domain.progress import ItemDue, due_step
from services.dunning.domain.scenarios import Scenario
from services.dunning.domain.state import ItemState
from shared.contracts.dunning import StepOutcome

GroupKey = tuple[str, str, str]  # client, scenario, step
Batch = dict[GroupKey, list[ItemDue]]


@dataclass
class PassReport:
    """What one pass did; the admin endpoint and the benchmark print it."""

    as_of: date
    tenants: int = 0
    due_items: int = 0
    groups: int = 0
    sent: int = 0
    in_agenda: int = 0
    skipped: int = 0
    emails: int = 0
    actions: dict[str, int] = field(default_factory=dict)
    conflicts: int = 0
    waiting_for_client: int = 0
    stopped_early: bool = False
    query_ms: float = 0.0
    seconds: float = 0.0

    def count(self, records: Sequence[StepRecord], *, emails: int, waiting_for_client: int) -> None:
        """Add what one committed batch recorded."""
        self.waiting_for_client += waiting_for_client
        self.groups += len({record.group_key for record in records})
        self.emails += emails
        for record in records:
            if record.outcome is StepOutcome.SENT:
                self.sent += len(record.items)
            elif record.outcome is StepOutcome.IN_AGENDA:
                self.in_agenda += len(record.items)
            else:
                self.skipped += len(record.items)


def batches(due: Sequence[tuple[Scenario, ItemDue]], groups_per_batch: int) -> list[Batch]:
    """The due items grouped per client, scenario and step (one email each), cut into batches in key order:
    batches hold different clients, so two of them never touch the same documents."""
    groups: dict[GroupKey, list[ItemDue]] = defaultdict(list)
    for scenario, entry in due:
        groups[(entry.item.client_id, scenario.code, entry.step.code)].append(entry)
    keys = sorted(groups)
    return [{key: groups[key] for key in keys[start:start + groups_per_batch]}
            for start in range(0, len(keys), groups_per_batch)]


def still_due(entries: Sequence[ItemDue], fresh: dict[str, ItemState], scenario: Scenario, step_code: str,
              as_of: date) -> list[ItemDue]:
    """The group's items that, as stored now, are still due for this very step."""
    still: list[ItemDue] = []
    for entry in entries:
        item = fresh.get(entry.item.item_id)
        if item is None or item.scenario_code != scenario.code:
            continue
        due = due_step(item, scenario, as_of)
        if due is not None and due.step.code == step_code:
            still.append(due)
    return still
