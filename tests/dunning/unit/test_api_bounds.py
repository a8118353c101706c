"""What the fuzzer found in the dunning API, kept as regressions: each a clear 4xx problem, never a 500."""

from tests.dunning.offline import OfflineDunning


async def test_a_scheduler_pass_for_a_day_out_of_range_is_refused_not_crashed(dunning: OfflineDunning) -> None:
    for as_of in ("0001-01-01", "9999-12-31"):
        response = await dunning.http.post("/admin/scheduler/run", json={"as_of": as_of})
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == ["body.as_of"]
    ran = await dunning.http.post("/admin/scheduler/run", json={"as_of": "2999-12-31"})
    assert ran.status_code == 200, ran.text
