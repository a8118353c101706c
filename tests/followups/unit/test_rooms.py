"""The followups service keeps the skeleton every service shares, and its handlers never see MongoDB."""

import ast
from pathlib import Path

import services.followups

SERVICE = Path(services.followups.__file__).parent
ROOMS = {"__init__.py", "__main__.py", "app.py", "config.py", "ports.py", "subscribers.py", "domain", "handlers",
         "adapters", "api", "workers"}
FORBIDDEN_ROOTS = {"pymongo", "bson", "gridfs", "motor", "aiokafka", "faststream", "httpx"}
FORBIDDEN_NAMES = {"AsyncClientSession", "ClientSession", "EventContext"}


def imports_of(path: Path) -> list[tuple[str, set[str]]]:
    """(module, names imported from it) for every import statement of a module, wherever it stands."""
    found: list[tuple[str, set[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, set()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, {alias.name for alias in node.names}))
    return found


def test_the_service_has_the_rooms_of_every_service_and_nothing_else_at_its_top() -> None:
    present = {p.name for p in SERVICE.iterdir() if p.name != "__pycache__"}
    assert present == ROOMS
    for room in ("domain", "handlers", "adapters", "api", "workers"):
        assert (SERVICE / room / "__init__.py").read_text().startswith('"""'), f"{room} says what it holds"


def test_no_handler_module_imports_a_database_broker_or_session_type() -> None:
    handlers = sorted((SERVICE / "handlers").glob("*.py"))
    assert len(handlers) > 5
    for path in handlers:
        for module, names in imports_of(path):
            assert module.split(".")[0] not in FORBIDDEN_ROOTS, f"{path.name} imports {module}"
            assert not module.startswith("services.followups.adapters"), f"{path.name} imports {module}"
            assert not names & FORBIDDEN_NAMES, f"{path.name} imports {names & FORBIDDEN_NAMES} from {module}"
            assert module != "shared.platform.consumer", f"{path.name} imports the consumer's context"


def test_no_handler_module_mentions_a_session() -> None:
    for path in sorted((SERVICE / "handlers").glob("*.py")):
        assert "session" not in path.read_text().lower(), f"{path.name} mentions a session"
