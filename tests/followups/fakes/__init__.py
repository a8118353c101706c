"""In-memory implementations of every followups port, held to the same contract tests as the MongoDB
adapters (tests/followups/test_contracts.py). One `State` holds every collection; the unit of work
(`tests/support/memory.py`) copies it before each run, so a failing command leaves it as it was."""

from dataclasses import dataclass

from services.followups.adapters.events import OutboxEvents
from services.followups.ports import Adapters
from tests.support.memory import MemoryOutgoing, MemoryUnitOfWork
from tests.followups.fakes.actions import FakeActions, FakeAttachments, FakeEmails, FakeHistory, FakeQualifications
from tests.followups.fakes.files import FakeFetcher, FakeFiles
from tests.followups.fakes.links import FakeLinks, FakeReplies
from tests.followups.fakes.records import FakeClients, FakeItems, FakeStatuses, FakeTemplates, FakeTenants, FakeUsers
from tests.followups.fakes.state import State


@dataclass(frozen=True)
class FakeTx:
    """The repositories over the shared state, and the real publisher over the memory unit of work's list."""

    clients: FakeClients
    items: FakeItems
    users: FakeUsers
    statuses: FakeStatuses
    templates: FakeTemplates
    tenants: FakeTenants
    actions: FakeActions
    history: FakeHistory
    qualifications: FakeQualifications
    emails: FakeEmails
    attachments: FakeAttachments
    links: FakeLinks
    replies: FakeReplies
    events: OutboxEvents

    @classmethod
    def on(cls, state: State, outgoing: MemoryOutgoing) -> "FakeTx":
        return cls(clients=FakeClients(state), items=FakeItems(state), users=FakeUsers(state),
                   statuses=FakeStatuses(state), templates=FakeTemplates(state), tenants=FakeTenants(state),
                   actions=FakeActions(state), history=FakeHistory(state), qualifications=FakeQualifications(state),
                   emails=FakeEmails(state), attachments=FakeAttachments(state), links=FakeLinks(state),
                   replies=FakeReplies(state), events=OutboxEvents(outgoing))


@dataclass
class Fakes:
    """The service's adapters in memory, and handles a test inspects them through."""

    state: State
    uow: MemoryUnitOfWork[State, FakeTx]
    files: FakeFiles
    fetcher: FakeFetcher

    def reset(self) -> None:
        """Empty every collection and forget what was published (the stored bytes too)."""
        self.state.__dict__.update(State().__dict__)
        self.uow.published.clear()
        self.files.stored.clear()

    @property
    def adapters(self) -> Adapters:
        return Adapters(uow=self.uow, files=self.files, fetcher=self.fetcher)


def fakes() -> Fakes:
    state = State()
    return Fakes(state=state, uow=MemoryUnitOfWork(state, FakeTx.on), files=FakeFiles(state), fetcher=FakeFetcher())
