"""The inbound rules, pure: what a reply says once quoted text and signatures are gone, what an
auto-reply is and when its author is back, what a bounce says about whom, which files are kept
under which name, and the claim checks and addresses."""

import email
import email.policy
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

import pytest

from services.mailer.domain.inbound.addresses import AddressKind, author, inbound_address, reply_id
from services.mailer.domain.inbound.attachments import Limits, reply_files, safe_filename
from services.mailer.domain.inbound.autoreply import is_auto_reply, return_date
from services.mailer.domain.claims import Claim, sign_claim, verify_claim
from services.mailer.domain.inbound.dsn import bounce_decisions, delivery_reports
from services.mailer.domain.inbound.text import html_to_text, reply_text, strip_quoted
from shared.links import LinkKeys, LinkRejected, RejectionReason, new_link_key_setting
from tests.mailer.mails import PDF, reply, standard_bounce

DOMAIN = "inbound.acme.example"


def parsed(raw: bytes | EmailMessage) -> EmailMessage:
    data = raw.as_bytes() if isinstance(raw, EmailMessage) else raw
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


class TestReplyText:
    @pytest.mark.parametrize("quoted", [
        "On Mon, 2 Mar 2026 at 10:00, Acme Industries <ar@acme.example> wrote:\n> Please approve",
        "On Mon, 2 Mar 2026 at 10:00, Acme Industries <ar@acme.example>\nwrote:\n\n> Please approve",
        "Le lun. 2 mars 2026 à 10:00, Acme Industries <ar@acme.example> a écrit :\n> Merci de valider",
        "Le 02/03/2026 à 10:00, Jean Martin a écrit\u00a0:\nMerci de valider",
        "________________________________\nFrom: Acme Industries <ar@acme.example>\nSent: Monday, March 2, 2026 10:00"
        "\nTo: Paul Sales\nSubject: Credit note\n\nPlease approve",
        "De : Acme Industries <ar@acme.example>\nEnvoyé : lundi 2 mars 2026 10:00\nÀ : Paul\nObjet : Avoir\n\nMerci",
        "-----Original Message-----\nFrom: ar@acme.example\nPlease approve",
        "-----Message d'origine-----\nDe : ar@acme.example\nMerci",
        "-- \nPaul Sales\nSales manager",
        "Sent from my iPhone",
        "Envoyé de mon iPhone",
    ])
    def test_what_follows_a_reply_header_an_outlook_block_or_a_signature_is_dropped(self, quoted: str) -> None:
        assert strip_quoted(f"Approved.\n\nPaul\n\n{quoted}\n") == "Approved.\n\nPaul"

    def test_quoted_lines_go_and_the_answers_between_them_stay(self) -> None:
        text = "> Can you approve?\nYes.\n>> And the second one?\n> Also?\nNo, that one is wrong.\n"
        assert strip_quoted(text) == "Yes.\nNo, that one is wrong."

    def test_a_from_line_that_is_not_a_header_block_is_kept(self) -> None:
        assert strip_quoted("From: the warehouse, the goods left on time.\nPaul") == (
            "From: the warehouse, the goods left on time.\nPaul")

    def test_an_html_reply_keeps_its_lines_and_loses_markup_scripts_and_quotes(self) -> None:
        html = ("<div dir='ltr'>Bonjour,<br><br>Avoir <b>refusé</b>&nbsp;: le prix &eacute;tait convenu.<ul>"
                "<li>F-2026-001</li><li>F-2026-002</li></ul><script>steal()</script><style>p{}</style></div>"
                "<blockquote type='cite'>Merci de valider</blockquote>")
        assert html_to_text(html) == ("Bonjour,\n\nAvoir refusé : le prix était convenu.\n- F-2026-001\n"
                                      "- F-2026-002\n\n> Merci de valider")
        message = parsed(reply(sender="a@acme.example", to="x@y.example", text="", html=html))
        assert reply_text(message) == ("Bonjour,\n\nAvoir refusé : le prix était convenu.\n- F-2026-001\n"
                                       "- F-2026-002")

    def test_an_outlook_html_reply_is_cut_at_its_header_block(self) -> None:
        html = ("<p>Approved.</p><div id='appendonsend'></div><hr><div id='divRplyFwdMsg'><b>From:</b> Acme "
                "&lt;ar@acme.example&gt;<br><b>Sent:</b> Monday<br><b>To:</b> Paul</div><p>Please approve</p>")
        assert strip_quoted(html_to_text(html)) == "Approved."

    def test_the_plain_part_is_preferred_to_the_html_part(self) -> None:
        message = parsed(reply(sender="a@acme.example", to="x@y.example", text="Plain answer.\n",
                               html="<p>HTML answer.</p>"))
        assert reply_text(message) == "Plain answer."


class TestAutoReplies:
    @pytest.mark.parametrize("headers,subject", [
        ({"Auto-Submitted": "auto-replied"}, "Re: Avoir"),
        ({"X-Autoreply": "yes"}, "Re: Avoir"),
        ({"Precedence": "auto_reply"}, "Re: Avoir"),
        ({}, "Automatic reply: Credit note to approve"),
        ({}, "Out of Office: Credit note"),
        ({}, "Réponse automatique : Avoir à valider"),
        ({}, "Absence du bureau"),
        ({}, "Message d'absence"),
    ])
    def test_auto_replies_are_recognised_by_their_headers_or_subject(self, headers: dict[str, str],
                                                                     subject: str) -> None:
        assert is_auto_reply(parsed(reply(sender="a@acme.example", to="x@y.example", subject=subject,
                                          headers=headers)))

    @pytest.mark.parametrize("headers,subject", [
        ({"Auto-Submitted": "no"}, "Re: Avoir"),
        ({}, "Re: Out of office next week?"),
        ({}, "Re: Credit note to approve"),
    ])
    def test_a_person_s_reply_is_not_an_auto_reply(self, headers: dict[str, str], subject: str) -> None:
        assert not is_auto_reply(parsed(reply(sender="a@acme.example", to="x@y.example", subject=subject,
                                              headers=headers)))

    @pytest.mark.parametrize("text,expected", [
        ("I am out of the office, back on 3 December.", date(2026, 12, 3)),
        ("I will be back on Monday, December 7th.", date(2026, 12, 7)),
        ("Returning on December 3rd, 2026.", date(2026, 12, 3)),
        ("I am away until 12/03/2027.", date(2027, 3, 12)),
        ("Out until 15/12 included.", date(2026, 12, 16)),
        ("Away through Friday 4 December.", date(2026, 12, 5)),
        ("Out of the office from 1 to 5 December.", date(2026, 12, 6)),
        ("Back 2026-12-07.", date(2026, 12, 7)),
        ("Je suis de retour le 3 décembre.", date(2026, 12, 3)),
        ("De retour le lundi 1er décembre 2026.", date(2026, 12, 1)),
        ("Absent jusqu'au 12/03/2027.", date(2027, 3, 12)),
        ("Absente jusqu’au 4 déc. Pour toute urgence, contactez Jean.", date(2026, 12, 4)),
        ("Absent jusqu'au 15.12.2026 inclus.", date(2026, 12, 16)),
        ("En congés du 1er au 5 décembre.", date(2026, 12, 6)),
        ("Back in January, on the 5th of January.", date(2027, 1, 5)),
    ])
    def test_the_return_date_is_read_in_english_and_french(self, text: str, expected: date) -> None:
        assert return_date(text, received=date(2026, 11, 30)) == expected

    @pytest.mark.parametrize("text", [
        "I am out of the office until further notice.",
        "Back at 9.30. Call 06.12.34.56.78.",
        "Invoice F-2026-001 of 12/03/2026 is disputed.",  # a date, but no return phrase
    ])
    def test_no_return_date_without_a_return_phrase_and_a_date(self, text: str) -> None:
        assert return_date(text, received=date(2026, 11, 30)) is None

    @pytest.mark.parametrize(("text", "expected"), [
        ("Back on 3 December 2024.", date(2024, 12, 3)),
        ("Absent du 1er au 5 novembre 2026.", date(2026, 11, 6)),
    ])
    def test_a_return_date_already_past_is_read_so_the_case_can_say_so(self, text: str, expected: date) -> None:
        assert return_date(text, received=date(2026, 11, 30)) == expected

    def test_a_coming_return_date_wins_over_a_past_one(self) -> None:
        text = "I was away until 2 November 2026; now back on 3 December."
        assert return_date(text, received=date(2026, 11, 30)) == date(2026, 12, 3)


POSTFIX_DELAY = standard_bounce(to="bounces+x@inbound.acme.example", recipient="slow@client.example", status="4.4.1",
                                action="delayed", diagnostic="smtp; 451 4.4.1 connection timed out")
EXIM = b"""From: Mail Delivery System <Mailer-Daemon@mx.client.example>
To: bounces+x@inbound.acme.example
Subject: Mail delivery failed: returning message to sender

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  Gone@Client.example
    host mx.client.example [192.0.2.1]
    SMTP error from remote mail server after RCPT TO:<gone@client.example>:
    550 5.1.1 <gone@client.example>: Recipient address rejected: User unknown
"""


class TestBounces:
    def test_a_standard_notification_names_recipient_status_and_diagnostic(self) -> None:
        [report] = delivery_reports(parsed(standard_bounce(to="b@x.example", recipient="gone@client.example")),
                                    recipients=["gone@client.example"]) or []
        assert (report.recipient, report.action, report.status, report.hard, report.smtp_code) == (
            "gone@client.example", "failed", "5.1.1", True, 550)
        assert report.reason == ("bounced: 5.1.1 550 5.1.1 <gone@client.example>: Recipient address rejected: "
                                 "User unknown")

    def test_a_delay_notice_fails_nothing(self) -> None:
        reports = delivery_reports(parsed(POSTFIX_DELAY), recipients=["slow@client.example"]) or []
        decisions = bounce_decisions(reports, recipients=["slow@client.example"])
        assert decisions.failed == [] and [report.status for report in decisions.delayed] == ["4.4.1"]

    def test_a_plain_text_bounce_is_read_for_the_send_s_recipients(self) -> None:
        reports = delivery_reports(parsed(EXIM), recipients=["gone@client.example", "ok@client.example"]) or []
        decisions = bounce_decisions(reports, recipients=["gone@client.example", "ok@client.example"])
        [(address, report)] = decisions.failed
        assert (address, report.status, report.hard) == ("gone@client.example", "5.1.1", True)
        assert report.diagnostic == "550 5.1.1 <gone@client.example>: Recipient address rejected: User unknown"

    def test_an_out_of_office_is_not_a_bounce_even_with_a_null_sender(self) -> None:
        ooo = parsed(reply(sender="marie@dupont.example", to="b@x.example", subject="Absence du bureau",
                           text="Absente. marie@dupont.example\n"))
        assert delivery_reports(ooo, recipients=["marie@dupont.example"]) is None

    def test_a_failure_for_an_alias_counts_for_the_one_address_it_was_sent_to(self) -> None:
        raw = standard_bounce(to="b@x.example", recipient="marie.dupont@mailhost.example")
        reports = delivery_reports(parsed(raw), recipients=["marie@dupont.example"]) or []
        [(address, _)] = bounce_decisions(reports, recipients=["marie@dupont.example"]).failed
        assert address == "marie@dupont.example"

    def test_a_temporary_failure_that_gave_up_fails_the_send_without_suppressing(self) -> None:
        raw = standard_bounce(to="b@x.example", recipient="full@client.example", status="4.2.2",
                              diagnostic="smtp; 452 4.2.2 mailbox full")
        [report] = delivery_reports(parsed(raw), recipients=["full@client.example"]) or []
        assert report.failed and not report.hard


LIMITS = Limits(max_bytes=1024, max_count=2, types=frozenset({"application/pdf", "text/plain", "image/png"}))


class TestFiles:
    @pytest.mark.parametrize("given,expected", [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\credit-note.pdf", "credit-note.pdf"),
        ("C:\\Users\\paul\\avoir signé.pdf", "avoir signé.pdf"),
        (".htaccess", "htaccess"),
        ("in\x00voice\r\n.pdf", "in_voice__.pdf"),
        ('a<b>c:"d"|e?.pdf', "a_b_c__d__e_.pdf"),
        ("...", "attachment"),
        ("x" * 300 + ".pdf", "x" * 110 + ".pdf"),
    ])
    def test_file_names_lose_paths_and_unsafe_characters(self, given: str, expected: str) -> None:
        assert safe_filename(given) == expected

    def test_files_are_kept_by_content_type_size_and_count(self) -> None:
        message = parsed(reply(sender="a@acme.example", to="x@y.example", files=[
            ("renamed.exe.pdf", "application/pdf", b"MZ\x90\x00"),  # declared PDF, is not
            ("scan", "application/octet-stream", PDF[:1000]),  # no extension: the type cannot be told
            ("note.pdf", "application/octet-stream", PDF[:1000]),  # octet-stream: the extension says PDF
            ("big.pdf", "application/pdf", PDF + b"0" * 2000),
            ("notes.txt", "text/plain", b"call back on Monday"),
            ("third.txt", "text/plain", b"one too many"),
        ]))
        kept, refused = reply_files(message, LIMITS)
        assert [(file.filename, file.content_type) for file in kept] == [
            ("note.pdf", "application/pdf"), ("notes.txt", "text/plain")]
        assert [(file.filename, file.reason) for file in refused] == [
            ("renamed.exe.pdf", "its content is not a application/pdf file"),
            ("scan", "application/octet-stream files are not accepted"),
            ("big.pdf", "larger than 1024 bytes"),
            ("third.txt", "more than 2 files"),
        ]

    def test_an_inline_logo_of_a_signature_is_not_a_file_of_the_reply(self) -> None:
        message = reply(sender="a@acme.example", to="x@y.example", text="", html="<p>OK</p><img src='cid:logo'>")
        body = message.get_body(("html",))
        assert body is not None
        body.add_related(b"\x89PNG\r\n\x1a\n....", maintype="image", subtype="png", cid="<logo>",
                         disposition="inline", filename="image001.png")
        assert reply_files(parsed(message), LIMITS) == ([], [])


class TestClaimChecks:
    NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)

    def test_a_claim_check_names_one_file_of_one_tenant_until_it_expires(self) -> None:
        keys = LinkKeys.parse(new_link_key_setting("k1"))
        claim = Claim("acme", "r1-1", self.NOW + timedelta(days=1))
        token = sign_claim(claim, keys)
        assert verify_claim(token, keys, now=self.NOW) == claim
        with pytest.raises(LinkRejected) as expired:
            verify_claim(token, keys, now=self.NOW + timedelta(days=2))
        assert expired.value.reason is RejectionReason.EXPIRED

    def test_an_altered_or_foreign_claim_check_is_refused(self) -> None:
        keys = LinkKeys.parse(new_link_key_setting("k1"))
        token = sign_claim(Claim("acme", "r1-1", self.NOW + timedelta(days=1)), keys)
        other_tenant = sign_claim(Claim("globex", "r1-1", self.NOW + timedelta(days=1)), keys)
        swapped = ".".join([*token.split(".")[:2], other_tenant.split(".")[2], token.split(".")[3]])
        for altered in (swapped, token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
                        sign_claim(Claim("acme", "r1-1", self.NOW + timedelta(days=1)),
                                   LinkKeys.parse(new_link_key_setting("k1")))):
            with pytest.raises(LinkRejected) as refused:
                verify_claim(altered, keys, now=self.NOW)
            assert refused.value.reason is RejectionReason.FORGED

    def test_claim_checks_outlive_a_key_rotation(self) -> None:
        old = new_link_key_setting("k1")
        token = sign_claim(Claim("acme", "r1-1", self.NOW + timedelta(days=1)), LinkKeys.parse(old))
        rotated = LinkKeys.parse(f"{old},{new_link_key_setting('k2')}")
        assert rotated.signing_key_id == "k2"
        assert verify_claim(token, rotated, now=self.NOW).file_id == "r1-1"


class TestAddresses:
    @pytest.mark.parametrize("address,expected", [
        (f"reply+r1-k1-abc-def@{DOMAIN}", (AddressKind.REPLY, "r1-k1-abc-def")),
        (f"REPLY+R1-K1-ABC-DEF@{DOMAIN.upper()}", (AddressKind.REPLY, "r1-k1-abc-def")),
        (f"<bounces+{'a' * 32}@{DOMAIN}>", (AddressKind.BOUNCE, "a" * 32)),
        (f"unsubscribe+{'B' * 32}@{DOMAIN}", (AddressKind.UNSUBSCRIBE, "b" * 32)),
    ])
    def test_the_inbound_domain_takes_reply_bounce_and_unsubscribe_addresses(self, address: str,
                                                                          expected: tuple[AddressKind, str]) -> None:
        found = inbound_address(address, DOMAIN)
        assert found is not None and (found.kind, found.value) == expected

    @pytest.mark.parametrize("address", [
        "postmaster@inbound.acme.example", "reply+abc@elsewhere.example", "bounces+short@inbound.acme.example",
        "reply+@inbound.acme.example", "reply+a/b@inbound.acme.example",
    ])
    def test_anything_else_is_not_ours(self, address: str) -> None:
        assert inbound_address(address, DOMAIN) is None

    def test_the_author_is_the_from_header_else_the_envelope_sender(self) -> None:
        message = parsed(reply(sender="Paul <Paul.Sales@Acme.example>", to="x@y.example"))
        assert author(message, "bounce@relay.example") == "paul.sales@acme.example"
        del message["From"]
        assert author(message, "<Envelope@Acme.example>") == "envelope@acme.example"

    def test_one_mail_has_one_reply_id(self) -> None:
        message = parsed(reply(sender="a@acme.example", to="x@y.example", message_id="<m1@client.example>"))
        other = parsed(reply(sender="a@acme.example", to="x@y.example", message_id="<m2@client.example>"))
        assert reply_id("acme", "link:l1", message, b"") == reply_id("acme", "link:l1", message, b"x")
        assert len({reply_id("acme", "link:l1", message, b""), reply_id("acme", "link:l1", other, b""),
                    reply_id("globex", "link:l1", message, b""), reply_id("acme", "link:l2", message, b"")}) == 4
