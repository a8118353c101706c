"""What the consistency checker looks at (a target: the services, the broker, the databases, the
tenants) and what it reports (differences, each with the ids involved)."""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Difference:
    """One thing that does not add up, with the ids a person needs to look at it."""

    kind: str
    tenant_id: str
    detail: str
    ids: tuple[str, ...] = ()

    def line(self) -> str:
        ids = f" [{', '.join(self.ids)}]" if self.ids else ""
        return f"DIFFERENCE {self.kind} (tenant {self.tenant_id}): {self.detail}{ids}"


@dataclass(frozen=True)
class Target:
    """A running stack: the services' URLs, the broker, the database server and the tenants to check."""

    urls: dict[str, str]
    kafka_bootstrap_servers: str
    mongodb_url: str
    databases: dict[str, str]  # service → its database (only the platform's `outbox` collection is read)
    tenants: list[str]
    token_for: Callable[[str], str]  # tenant → an admin bearer token of that tenant
    topic_prefix: str = ""
    expected_dead_letters: frozenset[str] = field(default_factory=frozenset)  # event ids put there on purpose
    lag_timeout_s: float = 60.0
