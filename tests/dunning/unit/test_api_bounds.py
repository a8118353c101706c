"""Bad input to the dunning API, kept as regressions (one found by the fuzzer): each a 4xx problem naming
the field, never a 500."""

from tests.dunning.offline import OfflineDunning


async def test_a_scheduler_pass_for_a_day_out_of_range_is_refused_not_crashed(dunning: OfflineDunning) -> None:
    for as_of in ("0001-01-01", "9999-12-31"):
        response = await dunning.http.post("/admin/scheduler/run", json={"as_of": as_of})
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == ["body.as_of"]
    ran = await dunning.http.post("/admin/scheduler/run", json={"as_of": "2999-12-31"})
    assert ran.status_code == 200, ran.text


async def test_an_agenda_range_ending_before_it_starts_names_the_field(dunning: OfflineDunning) -> None:
    response = await dunning.http.get("/agenda", params={"from": "2026-11-10", "to": "2026-11-01"})
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "invalid" and [e["field"] for e in problem["errors"]] == ["query.to"]
    assert "'to' must be on or after 'from'" in problem["detail"]
