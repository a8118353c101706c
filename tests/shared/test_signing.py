"""Signed tokens, once: a MAC holds only for its tenant, its purpose, its message and a known key."""

import base64

import pytest

from shared.signing import KeyRing, RejectionReason, Signer, TokenRejected, b32, b64, unb32, unb64

KEYS = KeyRing({"k1": b"a" * 32, "k2": b"b" * 32}, signing_key_id="k2")


def reason(signer: Signer, tenant_id: str, message: str, mac: bytes, *, key_id: str = "k2") -> RejectionReason:
    with pytest.raises(TokenRejected) as caught:
        signer.check(tenant_id, message, mac, key_id=key_id)
    return caught.value.reason


class TestSigner:
    def test_a_mac_checks_for_its_tenant_message_and_key(self) -> None:
        signer = Signer(KEYS, b"arf-test")
        signer.check("acme", "link-1", signer.mac("acme", "link-1"), key_id="k2")

    def test_another_tenant_another_message_or_another_purpose_is_forged(self) -> None:
        mac = Signer(KEYS, b"arf-test").mac("acme", "link-1")
        assert reason(Signer(KEYS, b"arf-test"), "globex", "link-1", mac) is RejectionReason.FORGED
        assert reason(Signer(KEYS, b"arf-test"), "acme", "link-2", mac) is RejectionReason.FORGED
        assert reason(Signer(KEYS, b"arf-other"), "acme", "link-1", mac) is RejectionReason.FORGED
        assert reason(Signer(KEYS), "acme", "link-1", mac) is RejectionReason.FORGED

    def test_a_truncated_or_altered_mac_is_forged(self) -> None:
        signer = Signer(KEYS, b"arf-test", size=12)
        mac = signer.mac("acme", "m")
        assert len(mac) == 12
        assert reason(signer, "acme", "m", mac[:-1]) is RejectionReason.FORGED
        assert reason(signer, "acme", "m", bytes([mac[0] ^ 1]) + mac[1:]) is RejectionReason.FORGED

    def test_a_retired_key_is_unknown_and_a_rotated_ring_still_verifies_old_macs(self) -> None:
        old = Signer(KeyRing({"k1": b"a" * 32}, signing_key_id="k1")).mac("acme", "m")
        assert reason(Signer(KeyRing({"k3": b"c" * 32}, signing_key_id="k3")), "acme", "m", old,
                      key_id="k1") is RejectionReason.UNKNOWN_KEY
        rotated = KeyRing.parse(f"k1:{base64.b64encode(b'a' * 32).decode()},k9:{base64.b64encode(b'z' * 32).decode()}")
        assert rotated.signing_key_id == "k9"
        Signer(rotated).check("acme", "m", old, key_id="k1")

    def test_weak_or_badly_named_keys_are_refused(self) -> None:
        with pytest.raises(ValueError, match="32 bytes"):
            KeyRing({"k1": b"short"}, signing_key_id="k1")
        with pytest.raises(ValueError, match="letters and digits"):
            KeyRing({"k-1": b"a" * 32}, signing_key_id="k-1")
        with pytest.raises(ValueError, match="not among"):
            KeyRing({"k1": b"a" * 32}, signing_key_id="k2")


class TestEncodings:
    @pytest.mark.parametrize("data", [b"", b"\x00", b"\xff" * 7, bytes(range(40))])
    def test_both_encodings_round_trip_without_padding(self, data: bytes) -> None:
        assert unb64(b64(data)) == data and "=" not in b64(data)
        assert unb32(b32(data)) == data and b32(data) == b32(data).lower()
