"""Idempotent writes on dunning through MongoDB: a new default scenario saved with an `Idempotency-Key`
moves the items onto it in the same request (the remap reads the request's uncommitted scenario), and
its retry is replayed without saving or moving anything again."""

from typing import Any

from services.dunning.domain.default_scenario import default_scenario
from shared.contracts.receivables import ItemsUpserted
from shared.platform.idempotency import HEADER, REPLAYED_HEADER
from tests.dunning.builders import client_event, snapshot
from tests.dunning.harness import Dunning


def gentle() -> dict[str, Any]:
    body = default_scenario().model_dump(mode="json")
    body.update(code="gentle", name="Gentle", is_default=True)
    return body


async def test_a_scenario_saved_with_a_key_moves_the_items_once_and_its_retry_is_replayed(dunning: Dunning) -> None:
    await dunning.send(client_event("c1"), ItemsUpserted(client_id="c1", items=[snapshot("i1", version=1)]))
    await dunning.settle()
    assert (await dunning.item("i1"))["scenario_code"] == "standard"  # type: ignore[index]
    first = await dunning.http.post("/scenarios", json=gentle(), headers={HEADER: "gentle-1"})
    moved = await dunning.item("i1")
    again = await dunning.http.post("/scenarios", json=gentle(), headers={HEADER: "gentle-1"})
    plain = await dunning.http.post("/scenarios", json=gentle())
    assert first.status_code == 201, first.text
    assert (again.status_code, again.headers[REPLAYED_HEADER], again.json()) == (201, "true", first.json())
    assert plain.status_code == 409  # without the key: the scenario exists already
    assert moved is not None and moved["scenario_code"] == "gentle"
    scenarios = {s["code"]: (s["is_default"], s["version"]) for s in (await dunning.http.get("/scenarios")).json()}
    assert scenarios == {"gentle": (True, 1), "standard": (False, 1)}
