"""What other services report lands in the histories: emails delivered / failed and colleagues' replies in
the action's history (replies attributed to the colleague), dunning steps in the client's; once each.
Replies in depth (attachments, refusals, out of office) are in test_replies.py."""

from datetime import UTC, date, datetime

from shared.contracts.dunning import DunningStepRecorded, StepOutcome
from shared.contracts.email import EmailDelivered, EmailFailed, EmailPurpose, FailureKind, ReplyKind, ReplyReceived
from shared.contracts.topics import Stream
from shared.contracts.values import ActionType
from tests.followups.helpers import Api, history_of, publish, seed_client, seed_people, send_interactive

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


class TestMailerReports:
    async def test_delivered_failed_and_a_reply_appear_in_the_action_history_once(self, api: Api) -> None:
        await seed_people(api)
        ids = await seed_client(api, items=1)
        action_id = (await api.ok("POST", "/actions", 201, json={
            "client_id": "C1", "type": "follow_up", "item_ids": ids}))["action_id"]
        request_id = (await api.ok("POST", f"/actions/{action_id}/emails", 202, json={
            "subject": "Litige", "body": "Bonjour #contact_name"}))["request_id"]
        delivered = EmailDelivered(request_id=request_id, idempotency_key=request_id, client_id="C1",
                                   action_id=action_id, purpose=EmailPurpose.CLIENT, recipients=["marie@c1.example"],
                                   message_id="<m1@acme>", delivered_at=AT)
        await publish(api, delivered, Stream.EMAIL_DELIVERIES, times=2)  # a redelivery adds nothing
        failed = EmailFailed(request_id="other", idempotency_key="other", client_id="C1", action_id=action_id,
                             purpose=EmailPurpose.INTERNAL_INTERACTIVE, recipients=["legal@acme.example"],
                             kind=FailureKind.PERMANENT, reason="550 mailbox unknown", smtp_code=550, failed_at=AT)
        await publish(api, failed, Stream.EMAIL_DELIVERIES)
        link = (await send_interactive(api, action_id))["link"]
        reply = ReplyReceived(reply_id="r1", client_id="C1", action_id=action_id, from_email="u-sales@acme.example",
                              kind=ReplyKind.REPLY, text="OK for a 5 % credit note", received_at=AT,
                              link_id=link["link_id"])
        await publish(api, reply, Stream.REPLIES, times=2)

        url = f"/actions/{action_id}/history"
        history = await history_of(api, url, {"email_delivered", "email_failed", "comment_added"}, 3)
        await api.events.settle(api.tenant_id, quiet_s=1.0)
        history = await api.ok("GET", url)
        by_kind = {e["kind"]: e for e in history}
        assert [e["kind"] for e in history].count("email_delivered") == 1
        assert by_kind["email_delivered"]["data"]["message_id"] == "<m1@acme>"
        assert by_kind["email_failed"]["data"]["reason"] == "550 mailbox unknown"
        assert [e["kind"] for e in history].count("comment_added") == 1
        assert by_kind["comment_added"]["actor"] == {"kind": "colleague", "id": None, "email": "u-sales@acme.example",
                                                     "name": None}
        assert by_kind["comment_added"]["text"] == "OK for a 5 % credit note"
        emails = await api.ok("GET", f"/actions/{action_id}/emails")
        assert [(e["state"], (e.get("outcome") or {}).get("message_id")) for e in emails] == [
            ("delivered", "<m1@acme>"), ("requested", None)]

    async def test_another_tenants_report_never_touches_this_tenant(self, api: Api) -> None:
        await seed_people(api)
        ids = await seed_client(api, items=1)
        action_id = (await api.ok("POST", "/actions", 201, json={
            "client_id": "C1", "type": "follow_up", "item_ids": ids}))["action_id"]
        link = (await send_interactive(api, action_id))["link"]
        stranger = ReplyReceived(reply_id="r9", client_id="C1", action_id=action_id, from_email="u-sales@acme.example",
                                 kind=ReplyKind.REPLY, text="injected", received_at=AT, link_id=link["link_id"])
        await publish(api, stranger, Stream.REPLIES, tenant="someone-else")
        mine = ReplyReceived(reply_id="r10", client_id="C1", action_id=action_id, from_email="u-sales@acme.example",
                             kind=ReplyKind.REPLY, text="mine", received_at=AT, link_id=link["link_id"])
        await publish(api, mine, Stream.REPLIES)  # same partition, after the stranger's: once it shows, both ran
        history = await history_of(api, f"/actions/{action_id}/history", {"comment_added"}, 1)
        assert [e["text"] for e in history if e["kind"] in ("comment_added", "reply_refused")] == ["mine"]


class TestDunningSteps:
    async def test_a_dunning_step_is_in_the_client_history_with_its_reason(self, api: Api) -> None:
        await seed_people(api)
        ids = await seed_client(api, items=2)
        step = DunningStepRecorded(client_id="C1", scenario_code="standard", step_code="D+30",
                                   action_type=ActionType.LETTER, due_on=date(2026, 11, 23), item_ids=ids,
                                   outcome=StepOutcome.SKIPPED, reason="items held by a follow-up")
        await publish(api, step, Stream.DUNNING, times=2)
        history = await history_of(api, "/clients/C1/history", {"dunning_step"}, 1)
        await api.events.settle(api.tenant_id, quiet_s=1.0)
        history = [e for e in await api.ok("GET", "/clients/C1/history") if e["kind"] == "dunning_step"]
        assert len(history) == 1 and history[0]["text"] == "items held by a follow-up"
        assert history[0]["data"]["step_code"] == "D+30" and history[0]["data"]["item_ids"] == ids
