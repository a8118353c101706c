"""The mailer's HTTP API through the real database: the send ledger and the suppression list, each
tenant seeing only its own, behind bearer tokens. (The template routes touch no port: their tests
are in `unit/test_api.py`, with twins of these.)"""

import httpx

from tests.mailer.integration.conftest import TENANT, Mailer
from tests.mailer.samples import email_request


def client(mailer: Mailer, role: str = "admin", tenant: str = TENANT) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=mailer.base_url, headers=mailer.auth(role, tenant))


class TestLedgerAndSuppressions:
    async def test_each_tenant_sees_only_its_own_sends(self, mailer: Mailer) -> None:
        await mailer.requests.publish([email_request(101, to="api@dupont.example", action_id="a-api")])
        await mailer.reports.wait_for("req-101")
        async with client(mailer, "collector") as http:
            [send] = (await http.get("/sends", params={"action_id": "a-api"})).json()
            assert (send["state"], send["recipients"]) == ("sent", ["api@dupont.example"])
            assert [entry["state"] for entry in send["history"]] == ["pending", "sent"]
            assert (await http.get(f"/sends/{send['send_id']}")).json()["message_id"] == send["message_id"]
            assert (await http.post(f"/sends/{send['send_id']}/resend")).status_code == 409
        async with client(mailer, "collector", tenant="globex") as http:
            assert (await http.get("/sends", params={"action_id": "a-api"})).json() == []
            assert (await http.get(f"/sends/{send['send_id']}")).status_code == 404
            assert (await http.post(f"/sends/{send['send_id']}/resend")).status_code == 404

    async def test_the_suppression_list_is_managed_by_credit_managers_per_tenant(self, mailer: Mailer) -> None:
        entry = {"email": "Hard.Bounce@Dupont.example", "reason": "550 mailbox unavailable"}
        async with client(mailer, "collector") as http:
            assert (await http.post("/suppressions", json=entry)).status_code == 403
        async with client(mailer, "credit_manager") as http:
            assert (await http.post("/suppressions", json={**entry, "email": "not an address"})).status_code == 422
            created = await http.post("/suppressions", json=entry)
            assert created.status_code == 201
            assert created.json()["email"] == "hard.bounce@dupont.example"
            listed = (await http.get("/suppressions")).json()
            assert "hard.bounce@dupont.example" in [item["email"] for item in listed]
        async with client(mailer, "credit_manager", tenant="globex") as http:
            assert "hard.bounce@dupont.example" not in [i["email"] for i in (await http.get("/suppressions")).json()]
            assert (await http.delete("/suppressions/hard.bounce@dupont.example")).status_code == 404
        async with client(mailer, "credit_manager") as http:
            assert (await http.delete("/suppressions/HARD.bounce@dupont.example")).status_code == 204
            assert (await http.delete("/suppressions/hard.bounce@dupont.example")).status_code == 404
