"""Attachments by reference (claim check): the bytes are fetched over HTTP when the email is sent."""

import httpx

from services.mailer.ports import AttachmentUnavailable
from shared.contracts.email import AttachmentRef

PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 410, 413})


class HttpAttachments:
    """Downloads attachments over one HTTP client (per run of the sender)."""

    def __init__(self, *, max_bytes: int, timeout_s: float) -> None:
        self.max_bytes = max_bytes
        self.client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=True)

    async def fetch(self, ref: AttachmentRef) -> bytes:
        if not ref.url.startswith(("http://", "https://")):
            raise AttachmentUnavailable(ref, "the reference is not an http(s) URL", permanent=True)
        if ref.size > self.max_bytes:
            raise AttachmentUnavailable(ref, f"larger than {self.max_bytes} bytes", permanent=True)
        try:
            async with self.client.stream("GET", ref.url) as response:
                if response.status_code != 200:
                    raise AttachmentUnavailable(ref, f"HTTP {response.status_code}",
                                                permanent=response.status_code in PERMANENT_STATUSES)
                content = bytearray()
                async for chunk in response.aiter_bytes():
                    content.extend(chunk)
                    if len(content) > self.max_bytes:
                        raise AttachmentUnavailable(ref, f"larger than {self.max_bytes} bytes", permanent=True)
                return bytes(content)
        except httpx.HTTPError as exc:
            raise AttachmentUnavailable(ref, f"cannot be fetched: {exc!r}", permanent=False) from None

    async def close(self) -> None:
        await self.client.aclose()
