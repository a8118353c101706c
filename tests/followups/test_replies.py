"""What comes back by email, as the mailer reports it: a colleague's reply becomes their comment with its
documents (fetched from the claim-check URLs, size and type checked), once; a reply through a revoked link or
to a closed action is refused with nothing attached; an out-of-office reply proposes (or makes) a reschedule;
a hard bounce flags the client's contact and says whether another one remains."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from fastapi import FastAPI
from fastapi.responses import Response

from shared.contracts.actions import ActionChanged
from shared.contracts.email import AttachmentRef, EmailFailed, EmailPurpose, FailureKind, ReplyKind, ReplyReceived
from shared.contracts.receivables import ClientUpserted
from shared.contracts.topics import Stream
from devstack.testing.services import serve_app
from tests.followups.conftest import ATTACHMENT_LIMIT
from tests.followups.helpers import Api, Service, history_of, publish
from tests.followups.links import PDF, Case, open_case

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
FILES = {"accord.pdf": PDF, "huge.pdf": PDF + b"0" * ATTACHMENT_LIMIT, "fake.pdf": b"MZ\x90\x00 not a pdf"}


@pytest.fixture(scope="module")
async def claim_checks(followups: Service) -> AsyncIterator[str]:
    """Where the mailer keeps a reply's attachments: a small HTTP server (the real fetch, over HTTP), or on
    the fakes the fetcher's dictionary holding the same files."""
    if followups.fakes is not None:
        base_url = "http://claims.test"
        followups.fakes.fetcher.files.update({f"{base_url}/files/{name}": body for name, body in FILES.items()})
        yield base_url
        return
    app = FastAPI()

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/files/{name}")
    async def file(name: str) -> Response:
        return Response(FILES[name], media_type="application/octet-stream")

    async with serve_app(app) as base_url:
        yield base_url


def reply(case: Case, reply_id: str, *, text: str = "OK pour l'avoir", kind: ReplyKind = ReplyKind.REPLY,
          attachments: list[AttachmentRef] = (), return_date: date | None = None,  # type: ignore[assignment]
          sender: str = "u-sales@acme.example") -> ReplyReceived:
    return ReplyReceived(reply_id=reply_id, client_id="C1", action_id=case.action_id, from_email=sender, kind=kind,
                         text=text, attachments=list(attachments), return_date=return_date, received_at=AT,
                         link_id=case.link["link_id"])


def ref(base_url: str, name: str, *, filename: str | None = None, declared: str = "application/pdf") -> AttachmentRef:
    return AttachmentRef(attachment_id=f"mail-{name}", filename=filename or name, content_type=declared,
                         size=len(PDF), url=f"{base_url}/files/{name}")


class TestRepliesByEmail:
    async def test_a_reply_is_the_colleagues_comment_with_its_documents_once(self, api: Api,
                                                                              claim_checks: str) -> None:
        case = await open_case(api)
        answer = reply(case, "r-1", attachments=[ref(claim_checks, "accord.pdf", filename="../../accord.pdf"),
                                                 ref(claim_checks, "huge.pdf"), ref(claim_checks, "fake.pdf")])
        await publish(api, answer, Stream.REPLIES, times=2)  # a redelivery adds nothing
        url = f"/actions/{case.action_id}/history"
        history = await history_of(api, url, {"comment_added", "attachment_added"}, 2)
        await api.events.settle(api.tenant_id, quiet_s=1.0)
        history = [e for e in await api.ok("GET", url) if e["actor"]["kind"] == "colleague"]
        assert [e["kind"] for e in history] == ["comment_added", "attachment_added"]
        comment, attached = history
        assert comment["actor"]["email"] == "u-sales@acme.example" and comment["text"] == "OK pour l'avoir"
        assert comment["data"]["via"] == "email_reply" and comment["data"]["reply_id"] == "r-1"
        assert [r["filename"] for r in comment["data"]["refused_attachments"]] == ["huge.pdf", "fake.pdf"]
        assert "larger than the limit" in comment["data"]["refused_attachments"][0]["reason"]
        assert attached["data"]["filename"] == "accord.pdf"
        documents = await api.ok("GET", f"/actions/{case.action_id}/attachments")
        assert [(d["filename"], d["size"], d["uploaded_by"]["email"]) for d in documents] == [
            ("accord.pdf", len(PDF), "u-sales@acme.example")]
        download = await api.http.get(f"/attachments/{documents[0]['attachment_id']}")
        assert download.content == PDF

    async def test_a_reply_through_a_revoked_link_or_to_a_closed_action_attaches_nothing(
            self, api: Api, claim_checks: str) -> None:
        case = await open_case(api)
        await api.ok("POST", f"/links/{case.link['link_id']}/revoke", json={})
        await publish(api, reply(case, "r-revoked", attachments=[ref(claim_checks, "accord.pdf")]), Stream.REPLIES)
        closed = await open_case(api, client_id="C2")
        await api.ok("POST", f"/actions/{closed.action_id}/close", json={"resolution_note": "paid"})
        late = reply(closed, "r-late").model_copy(update={"client_id": "C2"})
        await publish(api, late, Stream.REPLIES)
        for this, reason in ((case, "the link was revoked"), (closed, "the action is closed")):
            history = await history_of(api, f"/actions/{this.action_id}/history", {"reply_refused"}, 1)
            refused = next(e for e in history if e["kind"] == "reply_refused")
            assert refused["text"] == reason and refused["actor"]["kind"] == "system"
            assert "comment_added" not in [e["kind"] for e in history]
        assert await api.ok("GET", f"/actions/{case.action_id}/attachments") == []

    async def test_out_of_office_proposes_a_reschedule_or_makes_it_when_the_tenant_allows(self, api: Api) -> None:
        case = await open_case(api)
        away = reply(case, "r-ooo", kind=ReplyKind.AUTO_REPLY, text="Absent until 10 December",
                     return_date=date(2026, 12, 10))
        await publish(api, away, Stream.REPLIES)
        url = f"/actions/{case.action_id}/history"
        history = await history_of(api, url, {"reschedule_proposed"}, 1)
        proposal = next(e for e in history if e["kind"] == "reschedule_proposed")
        assert proposal["after"] == {"scheduled_for": "2026-12-10"} and "comment_added" not in [
            e["kind"] for e in history]
        assert next(e for e in history if e["kind"] == "reply_received")["data"]["kind"] == "auto_reply"
        assert (await api.ok("GET", f"/actions/{case.action_id}"))["scheduled_for"] == "2026-11-23"

        await api.ok("PUT", "/admin/settings", json={"internal_domains": ["acme.example"],
                                                     "reschedule_on_out_of_office": True})
        await publish(api, away.model_copy(update={"reply_id": "r-ooo-2"}), Stream.REPLIES)
        history = await history_of(api, url, {"rescheduled"}, 1)
        moved = next(e for e in history if e["kind"] == "rescheduled")
        assert moved["actor"]["kind"] == "system" and moved["after"] == {"scheduled_for": "2026-12-10"}
        assert "out of office until 2026-12-10" in moved["text"]
        changes = await api.events.wait(api.tenant_id, ActionChanged, change="rescheduled")
        assert changes[0]["data"]["action"]["scheduled_for"] == "2026-12-10"

    async def test_out_of_office_with_a_return_date_already_past_is_noted_and_moves_nothing(self, api: Api) -> None:
        case = await open_case(api)
        stale = reply(case, "r-ooo-stale", kind=ReplyKind.AUTO_REPLY, text="Back on 3 November 2026",
                      return_date=date(2026, 11, 3))
        await publish(api, stale, Stream.REPLIES)
        history = await history_of(api, f"/actions/{case.action_id}/history", {"reply_received"}, 1)
        noted = next(e for e in history if e["kind"] == "reply_received")
        assert noted["data"]["return_date"] == "2026-11-03"
        assert noted["data"]["return_date_note"] == "return date already past"
        assert not {"reschedule_proposed", "rescheduled"} & {e["kind"] for e in history}
        assert (await api.ok("GET", f"/actions/{case.action_id}"))["scheduled_for"] == "2026-11-23"


class TestBounces:
    async def test_a_hard_bounce_flags_the_contact_and_says_whether_another_remains(self, api: Api) -> None:
        case = await open_case(api)
        client = {"number": "C1", "name": "Client C1", "language": "fr", "currency": "EUR", "collector_id": "u-col",
                  "contacts": [{"contact_id": "k1", "name": "Marie Dupont", "email": "marie@c1.example",
                                "is_primary": True},
                               {"contact_id": "k2", "name": "Paul Compta", "email": "ap@c1.example"}]}
        await api.ok("PUT", "/clients/C1", json=client)
        bounce = EmailFailed(request_id="q1", idempotency_key="q1", client_id="C1", action_id=case.action_id,
                             purpose=EmailPurpose.CLIENT, recipients=["marie@c1.example"], kind=FailureKind.PERMANENT,
                             reason="bounced: 550 5.1.1 <marie@c1.example>: user unknown", smtp_code=550, failed_at=AT)
        await publish(api, bounce, Stream.EMAIL_DELIVERIES, times=2)
        history = await history_of(api, "/clients/C1/history", {"contact_bounced"}, 1)
        flagged = next(e for e in history if e["kind"] == "contact_bounced")
        assert flagged["data"]["bounced_contacts"] == ["marie@c1.example"]
        assert flagged["data"]["other_contacts"] == ["ap@c1.example"] and "ap@c1.example" in flagged["text"]
        contacts = (await api.ok("GET", "/clients/C1"))["contacts"]
        assert [(c["contact_id"], c["bounced"]) for c in contacts] == [("k1", True), ("k2", False)]
        upserts = await api.events.wait(api.tenant_id, ClientUpserted, 3)
        assert [c["bounced"] for c in upserts[-1]["data"]["contacts"]] == [True, False]
        failed = next(e for e in await case.history() if e["kind"] == "email_failed")
        assert failed["data"]["other_contacts"] == ["ap@c1.example"]

        unchanged = await api.ok("PUT", "/clients/C1", json=client)  # the ERP sends the same contacts again
        assert unchanged["change"] == "unchanged" and unchanged["client"]["contacts"][0]["bounced"] is True
        last = bounce.model_copy(update={"request_id": "q2", "idempotency_key": "q2", "recipients": ["ap@c1.example"]})
        await publish(api, last, Stream.EMAIL_DELIVERIES)
        history = await history_of(api, "/clients/C1/history", {"contact_bounced"}, 2)
        assert history[0]["text"].endswith("the client has no other contact with an address")
        assert len([e for e in history if e["kind"] == "contact_bounced"]) == 2
