"""Email rules (who may receive an internal email, which text) and the streamed import readers."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from services.followups.adapters.attachments import check_content
from services.followups.api.parsing import Row, StreamBroken, csv_rows, json_array_rows, ndjson_rows
from services.followups.domain.emails import EmailDraft, check_internal_recipients, variants_of
from services.followups.domain.errors import Invalid, UnsupportedType
from services.followups.domain.parties import Client, TenantSettings
from services.followups.domain.templates import ActionTemplate, Audience
from services.followups.handlers.intake import _decimal
from shared.contracts.email import EmailPurpose
from shared.contracts.values import ActionType, Recipient, TemplateVariant

NOW = datetime(2026, 11, 23, tzinfo=UTC)
CLIENT = Client(client_id="c1", number="C1", name="Dupont SA", language="fr", currency="EUR", version=1,
                changed_at=NOW, contacts=[{"contact_id": "k", "name": "Marie", "email": "marie@acme.example"}])


class TestInternalEmails:
    def test_rule_9_colleagues_only(self) -> None:
        settings = TenantSettings(internal_domains=["acme.example"])
        check_internal_recipients([Recipient(email="sales@acme.example"), Recipient(email="bob@corp.example")],
                                  users=["bob@corp.example"], settings=settings, client=CLIENT.model_copy(
                                      update={"contacts": []}))
        with pytest.raises(Invalid, match="colleagues only") as caught:
            check_internal_recipients([Recipient(email="buyer@dupont.example")], users=[], settings=settings,
                                      client=CLIENT)
        assert caught.value.details["recipients"] == ["buyer@dupont.example"]

    def test_a_client_contact_is_never_a_colleague_even_on_an_internal_domain(self) -> None:
        with pytest.raises(Invalid, match="marie@acme.example"):
            check_internal_recipients([Recipient(email="marie@acme.example")], users=[],
                                      settings=TenantSettings(internal_domains=["acme.example"]), client=CLIENT)


class TestEmailText:
    def test_a_client_email_may_not_use_the_internal_link(self) -> None:
        draft = EmailDraft(subject="Votre dossier", body="Voir #link_url")
        with pytest.raises(Invalid, match="only for internal"):
            variants_of(draft, None, purpose=EmailPurpose.CLIENT, language="fr", default_language="en")

    def test_an_unknown_hashtag_is_refused(self) -> None:
        with pytest.raises(Invalid, match="unknown hashtag #invoice_total"):
            variants_of(EmailDraft(subject="x", body="#invoice_total"), None, purpose=EmailPurpose.CLIENT,
                        language="fr", default_language="en")

    def test_a_template_must_be_written_for_that_audience(self) -> None:
        template = ActionTemplate(template_id="t1", name="Relance", type=ActionType.EMAIL, audience=Audience.INTERNAL,
                                  variants={"fr": TemplateVariant(subject="s", body="b")}, version=1, changed_at=NOW)
        with pytest.raises(Invalid, match="internal emails"):
            variants_of(EmailDraft(template_id="t1"), template, purpose=EmailPurpose.CLIENT, language="fr",
                        default_language="en")

    def test_a_draft_is_a_template_or_an_inline_text(self) -> None:
        with pytest.raises(ValidationError, match="either template_id"):
            EmailDraft(template_id="t1", subject="x", body="y")
        with pytest.raises(ValidationError, match="both subject and body"):
            EmailDraft(subject="x")


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


async def read(reader, data: bytes, size: int) -> list[Row]:  # type: ignore[no-untyped-def]
    return [row async for row in reader(chunks_of(data, size), max_row_bytes=200)]


class TestImportReaders:
    @pytest.mark.parametrize("size", [1, 7, 4096])
    async def test_csv_with_semicolons_quotes_and_a_field_over_two_lines(self, size: int) -> None:
        data = '\ufeffnumber;name\r\nC1;"Dupont; SA"\r\n\r\nC2;"two\nlines"\r\nC3;x;extra\n'.encode()
        rows = await read(csv_rows, data, size)
        assert rows[0].header == ["number", "name"]
        assert [(r.number, r.data, r.error) for r in rows[1:]] == [
            (2, {"number": "C1", "name": "Dupont; SA"}, None), (4, {"number": "C2", "name": "two\nlines"}, None),
            (6, None, "3 values for 2 columns")]

    @pytest.mark.parametrize("size", [1, 5, 4096])
    async def test_a_json_array_is_read_one_element_at_a_time(self, size: int) -> None:
        rows = await read(json_array_rows, b' [ {"a": "x,]"} , {"b": [1, 2]}, 3 ]', size)
        assert [(r.number, r.data, r.error) for r in rows] == [
            (1, {"a": "x,]"}, None), (2, {"b": [1, 2]}, None), (3, None, "an element must be an object")]

    async def test_ndjson_rows_are_numbered_and_bad_lines_reported(self) -> None:
        rows = await read(ndjson_rows, b'{"a": 1}\n\nnot json\n{"b": 2}', 3)
        assert [(r.number, r.error is None) for r in rows] == [(1, True), (2, False), (3, True)]

    @pytest.mark.parametrize("reader, data, message", [
        (json_array_rows, b'[{"a": 1}, {"b": ', "element 2 is not valid JSON"),
        (json_array_rows, b'[{"a": 1}', "never closed"),
        (json_array_rows, b'{"a": 1}', "array of objects"),
        (csv_rows, b'number\n"open', "never closed"),
        (csv_rows, b"number\n\xff\xfe", "not UTF-8"),
        (ndjson_rows, b"x" * 500, "longer than"),
    ])
    async def test_a_body_that_cannot_be_read_further_says_why(self, reader, data: bytes, message: str) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(StreamBroken, match=message):
            await read(reader, data, 64)

    @pytest.mark.parametrize("text, expected", [("1 234,56", "1234.56"), ("1.234,56", "1234.56"),
                                                ("1,234.56", "1234.56"), ("-12,5", "-12.5"), ("7", "7")])
    def test_amounts_in_french_or_english_notation(self, text: str, expected: str) -> None:
        assert _decimal(text) == expected


class TestAttachmentTypes:
    ALLOWED = frozenset({"application/pdf", "text/plain", "image/png"})

    def test_the_content_must_match_the_declared_type(self) -> None:
        assert check_content("application/pdf", b"%PDF-1.7 ...", allowed=self.ALLOWED) == "application/pdf"
        with pytest.raises(UnsupportedType, match="does not match"):
            check_content("application/pdf", b"MZ\x90\x00 an executable", allowed=self.ALLOWED)

    def test_other_types_are_refused_and_unlabelled_files_are_recognised(self) -> None:
        with pytest.raises(UnsupportedType, match="not accepted"):
            check_content("application/x-msdownload", b"MZ", allowed=self.ALLOWED)
        assert check_content("application/octet-stream", b"\x89PNG\r\n\x1a\n...", allowed=self.ALLOWED) == "image/png"
        with pytest.raises(UnsupportedType, match="binary data"):
            check_content("text/plain", b"abc\x00def", allowed=self.ALLOWED)


class TestHostileEncodings:
    @pytest.mark.parametrize("size", [1, 3, 4096])
    async def test_rows_before_a_bad_byte_are_read_and_the_stop_names_its_offset(self, size: int) -> None:
        data = "number\nSoc\u00e9t\u00e9\n".encode() + b"C2\n\xe9t\xe9\n"
        reader = csv_rows(chunks_of(data, size), max_row_bytes=200)
        rows = [await anext(reader), await anext(reader), await anext(reader)]
        assert [row.data for row in rows[1:]] == [{"number": "Soc\u00e9t\u00e9"}, {"number": "C2"}]
        with pytest.raises(StreamBroken, match=r"byte b'\\xe9' at offset 19 \(invalid continuation byte\)"):
            await anext(reader)

    @pytest.mark.parametrize("data", ["number\nC1\n".encode("utf-16"), "number\nC1\n".encode("utf-16-be"),
                                      "number\nC1\n".encode("utf-32")])
    async def test_utf16_and_utf32_are_refused_with_what_to_send(self, data: bytes) -> None:
        if not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            data = b"\xfe\xff" + data
        with pytest.raises(StreamBroken, match="UTF-16|not UTF-8"):
            await read(csv_rows, data, 64)
