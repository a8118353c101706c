"""The dunning service has the rooms every service has, and its handlers never see MongoDB or Kafka."""

import ast
from pathlib import Path

import services.dunning

SERVICE = Path(services.dunning.__file__).parent
ROOMS = {"__init__.py", "__main__.py", "app.py", "config.py", "ports.py", "subscribers.py",
         "domain", "handlers", "adapters", "api", "workers"}
# Drivers, brokers, and the platform modules that hand out sessions or the consumer's context.
FORBIDDEN = ("pymongo", "bson", "motor", "aiokafka", "faststream", "shared.platform.mongo",
             "shared.platform.consumer", "shared.platform.unit_of_work", "shared.platform.outbox")
SESSION_TYPES = {"AsyncClientSession", "ClientSession", "EventContext"}


def imports_of(path: Path) -> list[tuple[str, set[str]]]:
    """(module, names imported from it) for every import of the file, at any depth."""
    found: list[tuple[str, set[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, set()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, {alias.name for alias in node.names}))
    return found


def modules(room: str) -> list[Path]:
    return sorted((SERVICE / room).rglob("*.py"))


class TestRooms:
    def test_the_service_has_the_rooms_of_every_service_and_nothing_else_at_its_top(self) -> None:
        top = {p.name for p in SERVICE.iterdir() if p.name != "__pycache__"}
        assert top == ROOMS
        for room in ("domain", "handlers", "adapters", "api", "workers"):
            package = SERVICE / room / "__init__.py"
            assert package.exists() and ast.get_docstring(ast.parse(package.read_text())), room

    def test_no_handler_imports_a_driver_a_broker_or_a_session_type(self) -> None:
        assert modules("handlers")
        for path in modules("handlers"):
            for module, names in imports_of(path):
                assert not module.startswith(FORBIDDEN), f"{path.name} imports {module}"
                assert not names & SESSION_TYPES, f"{path.name} imports {names & SESSION_TYPES} from {module}"

    def test_the_domain_is_pure(self) -> None:
        for path in modules("domain"):
            for module, _ in imports_of(path):
                assert module.split(".")[0] not in {"pymongo", "bson", "fastapi", "httpx", "aiokafka", "faststream"}, \
                    f"{path.name} imports {module}"
                assert not module.startswith(("services.dunning.adapters", "services.dunning.handlers",
                                              "shared.platform")), f"{path.name} imports {module}"

    def test_raw_mongo_filters_and_updates_live_only_in_adapters(self) -> None:
        for room in ("handlers", "api", "workers", "domain"):
            for path in modules(room):
                text = path.read_text()
                for operator in ('"$set"', '"$in"', '"$lte"', '"$gte"', '"_id"', "session="):
                    assert operator not in text, f"{room}/{path.name} writes {operator}"
