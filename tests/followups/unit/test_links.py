"""The pure rules of interactive links: what a link grants by default, form tokens bound to one link, signed
attachment URLs, when a link is read-only, and what replies, out-of-office answers and bounces may change."""

from datetime import UTC, date, datetime, timedelta

import pytest

from shared.contracts.email import EmailFailed, EmailPurpose, FailureKind
from shared.contracts.values import ActionState, ActionType, Actor, ActorKind, Contact
from shared.links import LinkKeys, LinkOperation, LinkRejected, new_link_key_setting
from services.followups.domain.actions import Action
from services.followups.domain.errors import Invalid
from services.followups.domain.inbound import (
    flag_bounced, is_hard_bounce, out_of_office_date, reply_refusal, return_date_note,
)
from services.followups.domain.links import (
    DownloadGrant,
    FormRejected,
    LinkOptions,
    LinkRecord,
    LinkState,
    check_form_token,
    form_token,
    link_state,
    plan_grant,
    sign_download,
    verify_download,
)
from services.followups.domain.parties import Client, ClientInput, merge_client

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
KEYS = LinkKeys.parse(new_link_key_setting("k1"))
STATUSES = {"dispute_resolved", "legal_collection"}


def plan(options: LinkOptions, *, action_id: str | None = "A1", selection: list[str] | None = None):  # type: ignore[no-untyped-def]
    return plan_grant(options, tenant_id="acme", recipient="Sales@Acme.example", action_id=action_id,
                      action_item_ids=["i1", "i2", "i3"], selection=selection or ["i1", "i2", "i3"],
                      known_statuses=STATUSES, forwarding_allowed=False, now=NOW, default_days=30, max_days=90,
                      selection_max_items=2)


def action(state: ActionState = ActionState.OPEN, scheduled_for: date = date(2026, 11, 30)) -> Action:
    return Action(action_id="A1", client_id="C1", type=ActionType.FOLLOW_UP, name="Dispute", scheduled_for=scheduled_for,
                  state=state, item_ids=["i1"], version=1, changed_at=NOW, created_at=NOW,
                  created_by=Actor(kind=ActorKind.USER, id="u1"))


def record(**changes: object) -> LinkRecord:
    values = {"link_id": "L1", "client_id": "C1", "action_id": "A1", "recipient": "sales@acme.example",
              "operations": [LinkOperation.VIEW], "expires_at": NOW + timedelta(days=1), "issued_at": NOW,
              "issued_by": Actor(kind=ActorKind.USER, id="u1")}
    return LinkRecord(**{**values, **changes})


class TestWhatALinkGrants:
    def test_defaults_view_comment_upload_for_thirty_days_on_the_whole_action(self) -> None:
        grant = plan(LinkOptions())
        assert grant.operations == {LinkOperation.VIEW, LinkOperation.COMMENT, LinkOperation.UPLOAD}
        assert grant.expires_at == NOW + timedelta(days=30) and grant.item_ids == ()
        assert grant.recipient == "sales@acme.example"

    def test_statuses_given_allow_setting_them_and_a_part_of_the_action_is_named(self) -> None:
        grant = plan(LinkOptions(statuses=["dispute_resolved"], item_ids=["i2"], expires_in_days=7))
        assert LinkOperation.SET_STATUS in grant.operations and grant.statuses == ("dispute_resolved",)
        assert grant.item_ids == ("i2",) and grant.expires_at == NOW + timedelta(days=7)

    def test_a_selection_without_action_cannot_upload(self) -> None:
        assert LinkOperation.UPLOAD not in plan(LinkOptions(), action_id=None, selection=["i1"]).operations
        with pytest.raises(Invalid, match="attached to an action"):
            plan(LinkOptions(operations=[LinkOperation.UPLOAD]), action_id=None, selection=["i1"])

    @pytest.mark.parametrize(("options", "code"), [
        (LinkOptions(statuses=["nope"]), "unknown_status"),
        (LinkOptions(operations=[LinkOperation.SET_STATUS]), "link_statuses_required"),
        (LinkOptions(item_ids=["elsewhere"]), "not_in_action"),
        (LinkOptions(expires_in_days=120), "link_too_long"),
    ])
    def test_refused_options(self, options: LinkOptions, code: str) -> None:
        with pytest.raises(Invalid) as refused:
            plan(options)
        assert refused.value.code == code

    def test_a_selection_link_names_a_bounded_number_of_items(self) -> None:
        with pytest.raises(Invalid) as refused:
            plan(LinkOptions(), action_id=None, selection=["i1", "i2", "i3"])
        assert refused.value.code == "link_scope_too_large"


class TestFormTokens:
    def test_a_token_is_bound_to_its_link_and_expires(self) -> None:
        token = form_token(KEYS, tenant_id="acme", link_id="L1", now=NOW)
        assert check_form_token(token, KEYS, tenant_id="acme", link_id="L1", now=NOW, max_age=timedelta(hours=12))
        for tenant, link in (("acme", "L2"), ("other", "L1")):
            with pytest.raises(FormRejected, match="forged"):
                check_form_token(token, KEYS, tenant_id=tenant, link_id=link, now=NOW, max_age=timedelta(hours=12))
        with pytest.raises(FormRejected, match="expired"):
            check_form_token(token, KEYS, tenant_id="acme", link_id="L1", now=NOW + timedelta(hours=13),
                             max_age=timedelta(hours=12))
        for bad in (None, "", "f1.k1.x", "f1.zz.1.n.m", token.replace(".k1.", ".k9.")):
            with pytest.raises(FormRejected):
                check_form_token(bad, KEYS, tenant_id="acme", link_id="L1", now=NOW, max_age=timedelta(hours=12))

    def test_each_rendering_has_its_own_nonce(self) -> None:
        first, second = (form_token(KEYS, tenant_id="acme", link_id="L1", now=NOW) for _ in range(2))
        assert first != second


class TestSignedAttachmentUrls:
    def test_verified_until_expiry_and_never_for_another_tenant(self) -> None:
        token = sign_download(DownloadGrant(tenant_id="acme", attachment_id="d1", expires_at=NOW + timedelta(days=1)),
                              KEYS)
        assert verify_download(token, KEYS, now=NOW).attachment_id == "d1"
        with pytest.raises(LinkRejected, match="expired"):
            verify_download(token, KEYS, now=NOW + timedelta(days=2))
        version, kid, payload, mac = token.split(".")
        other = sign_download(DownloadGrant(tenant_id="other", attachment_id="d1",
                                            expires_at=NOW + timedelta(days=1)), KEYS).split(".")[2]
        with pytest.raises(LinkRejected, match="forged"):
            verify_download(f"{version}.{kid}.{other}.{mac}", KEYS, now=NOW)


class TestLinkState:
    def test_revoked_beats_everything_and_a_closed_action_is_read_only(self) -> None:
        assert link_state(record(revoked=True), action_state=ActionState.OPEN, open_items=1) == LinkState.REVOKED
        assert link_state(record(), action_state=ActionState.CLOSED, open_items=1) == LinkState.READ_ONLY
        assert link_state(record(), action_state=ActionState.OPEN, open_items=0) == LinkState.ACTIVE
        assert link_state(record(action_id=None), action_state=None, open_items=0) == LinkState.READ_ONLY


class TestInbound:
    def test_a_reply_needs_a_live_link_of_this_action_on_an_open_action(self) -> None:
        assert reply_refusal(action=action(), link=record(), sender_links=[]) is None
        assert reply_refusal(action=action(ActionState.CLOSED), link=record(), sender_links=[]) == "the action is closed"
        assert reply_refusal(action=action(), link=record(revoked=True), sender_links=[]) == "the link was revoked"
        assert "another action" in (reply_refusal(action=action(), link=record(action_id="A2"), sender_links=[]) or "")
        assert "another address" in (reply_refusal(action=action(), link=record(), sender_links=[],
                                                   sender="boss@acme.example") or "")
        assert reply_refusal(action=action(), link=record(forwarding_allowed=True), sender_links=[],
                             sender="boss@acme.example") is None
        assert reply_refusal(action=action(), link=record(), sender_links=[], sender="Sales@Acme.example") is None
        assert reply_refusal(action=action(), link=None, sender_links=[record()]) is None
        assert "no link" in (reply_refusal(action=action(), link=None, sender_links=[]) or "")

    def test_out_of_office_moves_only_to_a_later_date(self) -> None:
        today = date(2026, 11, 23)
        assert out_of_office_date(action(), date(2026, 12, 10), today=today) == date(2026, 12, 10)
        assert out_of_office_date(action(), date(2026, 11, 25), today=today) is None  # back before the next step
        assert out_of_office_date(action(), None, today=today) is None
        assert out_of_office_date(action(ActionState.CLOSED), date(2026, 12, 10), today=today) is None
        assert out_of_office_date(action(), date(2026, 11, 20), today=today) is None  # already past

    def test_a_return_date_already_past_is_noted_not_dropped(self) -> None:
        received = date(2026, 12, 5)
        assert return_date_note(date(2026, 12, 3), received=received) == "return date already past"
        assert return_date_note(received, received=received) is None
        assert return_date_note(date(2026, 12, 10), received=received) is None
        assert return_date_note(None, received=received) is None

    @pytest.mark.parametrize(("reason", "code", "purpose", "hard"), [
        ("bounced: 550 5.1.1 user unknown", 550, EmailPurpose.CLIENT, True),
        ("550 5.1.1 no such mailbox", 550, EmailPurpose.DUNNING_REMINDER, True),
        ("552 5.2.2 mailbox full", 552, EmailPurpose.CLIENT, False),
        ("on the suppression list", None, EmailPurpose.CLIENT, False),
        ("bounced: 550 5.1.1 user unknown", 550, EmailPurpose.INTERNAL_INTERACTIVE, False),
    ])
    def test_a_hard_bounce_is_a_bad_address(self, reason: str, code: int | None, purpose: EmailPurpose,
                                            hard: bool) -> None:
        event = EmailFailed(request_id="r", idempotency_key="r", client_id="C1", purpose=purpose,
                            recipients=["a@b.example"], kind=FailureKind.PERMANENT, reason=reason, smtp_code=code,
                            failed_at=NOW)
        assert is_hard_bounce(event) is hard

    def test_flagging_a_bounced_contact_and_keeping_the_flag_on_reimport(self) -> None:
        client = Client(client_id="C1", number="C1", name="C", language="fr", currency="EUR", version=1,
                        changed_at=NOW, contacts=[Contact(contact_id="k1", name="M", email="m@c.example"),
                                                  Contact(contact_id="k2", name="P", email="p@c.example")])
        flagged, usable = flag_bounced(client, ["M@c.example"], now=NOW)
        assert flagged is not None and flagged.version == 2 and usable == ["p@c.example"]
        assert [c.bounced for c in flagged.contacts] == [True, False]
        assert flag_bounced(flagged, ["m@c.example"], now=NOW)[0] is None  # already flagged
        again = ClientInput(**client.model_dump(exclude={"version", "changed_at"}))
        assert merge_client(flagged, again, now=NOW) is None  # same contacts from the ERP: the flag stays
        moved = again.model_copy(update={"contacts": [Contact(contact_id="k1", name="M", email="new@c.example")]})
        merged = merge_client(flagged, moved, now=NOW)
        assert merged is not None and merged.contacts[0].bounced is False  # a new address is worth a try
