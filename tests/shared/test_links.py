"""Signed links and reply tokens: a link verifies only as issued, for its tenant, until it expires; a
link's URL is short and opaque, and links of the first format keep verifying until they expire."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from shared.links import (
    LinkGrant,
    LinkKeys,
    LinkOperation,
    LinkRejected,
    RejectionReason,
    read_short_link,
    reply_token,
    sign_link,
    verify_link,
    verify_reply_token,
    verify_short_link,
)
from tests.support.links import full_link

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
KEYS = LinkKeys({"k1": b"a" * 32, "k2": b"b" * 32}, signing_key_id="k2")


def grant(**changes: object) -> LinkGrant:
    values = dict(tenant_id="acme", action_id="act-1", recipient="sales@acme.example",
                  operations=frozenset({LinkOperation.VIEW, LinkOperation.COMMENT}),
                  statuses=("credit_note_approved",), expires_at=NOW + timedelta(days=7))
    values.update(changes)
    return LinkGrant(**values)  # type: ignore[arg-type]


def rejected(token: str, *, keys: LinkKeys = KEYS, now: datetime = NOW) -> RejectionReason:
    with pytest.raises(LinkRejected) as caught:
        verify_link(token, keys, now=now)
    return caught.value.reason


def short_rejected(token: str, *, tenant_id: str = "acme", keys: LinkKeys = KEYS) -> RejectionReason:
    with pytest.raises(LinkRejected) as caught:
        verify_short_link(read_short_link(token), keys, tenant_id=tenant_id)
    return caught.value.reason


class TestShortLinks:
    def test_a_link_is_short_and_says_nothing_of_its_grant(self) -> None:
        issued = grant(recipient="jane.doe@acme.example")
        path = f"/l/{sign_link(issued, KEYS)}"
        assert len(path) < 60
        for secret in ("jane", "acme", "act-1", "view", "credit_note"):
            assert secret not in path.lower()
        decoded = b"".join(base64.urlsafe_b64decode(part + "==") for part in path[3:].split(".")[1:])
        assert b"acme" not in decoded and b"jane" not in decoded

    def test_a_link_verifies_for_its_tenant_and_link_only(self) -> None:
        issued = grant()
        token = sign_link(issued, KEYS)
        link = read_short_link(token)
        assert (link.key_id, link.link_id) == ("k2", issued.link_id)
        verify_short_link(link, KEYS, tenant_id="acme")
        assert short_rejected(token, tenant_id="globex") is RejectionReason.FORGED
        kid, link_id, mac = token.split(".")
        other = grant().link_id
        assert short_rejected(f"{kid}.{other}.{mac}") is RejectionReason.FORGED
        assert short_rejected(f"k1.{link_id}.{mac}") is RejectionReason.FORGED

    def test_garbage_is_malformed_and_a_retired_key_is_unknown(self) -> None:
        for garbage in ("not-a-link", "k2.abc", "k2.ab/c.AAAA", "k-2.abc.AAAA", "k2.abc.%%%"):
            with pytest.raises(LinkRejected) as caught:
                read_short_link(garbage)
            assert caught.value.reason is RejectionReason.MALFORMED, garbage
        token = sign_link(grant(), KEYS)
        assert short_rejected(token, keys=LinkKeys({"k3": b"c" * 32}, signing_key_id="k3")) is RejectionReason.UNKNOWN_KEY


class TestFirstFormatLinks:
    """Links sent before short links carried their whole grant; they verify until they expire."""

    def test_a_link_verifies_to_the_grant_it_was_signed_with(self) -> None:
        issued = grant()
        assert verify_link(full_link(issued, KEYS), KEYS, now=NOW) == issued

    def test_an_altered_scope_is_forged(self) -> None:
        version, kid, payload, mac = full_link(grant(), KEYS).split(".")
        data = json.loads(base64.urlsafe_b64decode(payload + "=="))
        data["operations"] = ["view", "comment", "set_status", "upload"]
        altered = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
        assert rejected(f"{version}.{kid}.{altered}.{mac}") is RejectionReason.FORGED

    def test_a_link_moved_to_another_tenant_is_forged(self) -> None:
        version, kid, payload, mac = full_link(grant(), KEYS).split(".")
        data = json.loads(base64.urlsafe_b64decode(payload + "=="))
        data["tenant_id"] = "globex"
        moved = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
        assert rejected(f"{version}.{kid}.{moved}.{mac}") is RejectionReason.FORGED

    def test_an_expired_link_is_rejected(self) -> None:
        assert rejected(full_link(grant(), KEYS), now=NOW + timedelta(days=8)) is RejectionReason.EXPIRED

    def test_garbage_is_malformed_and_a_retired_key_is_unknown(self) -> None:
        assert rejected("not-a-link") is RejectionReason.MALFORMED
        assert rejected("l1.k2.%%%.abc") is RejectionReason.MALFORMED
        token = full_link(grant(), KEYS)
        assert rejected(token, keys=LinkKeys({"k3": b"c" * 32}, signing_key_id="k3")) is RejectionReason.UNKNOWN_KEY

    def test_after_rotation_old_links_still_verify(self) -> None:
        old = full_link(grant(), LinkKeys({"k1": b"a" * 32}, signing_key_id="k1"))
        rotated = LinkKeys.parse(f"k1:{base64.b64encode(b'a' * 32).decode()},k9:{base64.b64encode(b'z' * 32).decode()}")
        assert rotated.signing_key_id == "k9"
        assert verify_link(old, rotated, now=NOW).action_id == "act-1"
        assert sign_link(grant(), rotated).split(".")[0] == "k9"


class TestReplyTokens:
    def test_a_reply_token_survives_lower_casing_and_names_its_link_and_sender(self) -> None:
        issued = grant()
        token = reply_token(issued, KEYS)
        assert token == token.lower() and len(token) < 120
        parsed = verify_reply_token(token.upper(), KEYS, now=NOW)
        assert (parsed.tenant_id, parsed.link_id) == ("acme", issued.link_id)
        assert parsed.sent_by("Sales@ACME.example")
        assert not parsed.sent_by("someone.else@acme.example")
        assert not parsed.accepts_sender("someone.else@acme.example")
        forwarded = verify_reply_token(reply_token(grant(forwarding_allowed=True), KEYS), KEYS, now=NOW)
        assert forwarded.accepts_sender("someone.else@acme.example")

    def test_a_tampered_or_expired_reply_token_is_rejected(self) -> None:
        token = reply_token(grant(), KEYS)
        head, kid, payload, mac = token.split("-")
        with pytest.raises(LinkRejected) as forged:
            verify_reply_token(f"{head}-{kid}-{payload[:-2]}aa-{mac}", KEYS, now=NOW)
        assert forged.value.reason in {RejectionReason.FORGED, RejectionReason.MALFORMED}
        with pytest.raises(LinkRejected) as expired:
            verify_reply_token(token, KEYS, now=NOW + timedelta(days=30))
        assert expired.value.reason is RejectionReason.EXPIRED
