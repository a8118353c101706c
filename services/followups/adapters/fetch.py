"""Reading a reply's attachment from its claim-check URL over HTTP, size checked as it streams in."""

import httpx

from shared.contracts.email import AttachmentRef
from services.followups.domain.errors import TooLarge, Unreachable, UnsupportedType


class HttpFetcher:
    """The `Fetcher` port over httpx; no redirects are followed (the mailer's URL is the one trusted)."""

    async def fetch(self, ref: AttachmentRef, *, limit: int, timeout_s: float) -> bytes:
        if not ref.url.startswith(("http://", "https://")):
            raise UnsupportedType("the attachment's reference is not an http(s) URL", ())
        if ref.size > limit:
            raise TooLarge("the attachment", limit)
        try:
            async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=False) as http:
                return await _download(http, ref.url, limit)
        except httpx.HTTPError as exc:
            raise Unreachable(f"cannot be fetched: {exc!r}") from None


async def _download(http: httpx.AsyncClient, url: str, limit: int) -> bytes:
    content = bytearray()
    async with http.stream("GET", url) as response:
        response.raise_for_status()
        async for chunk in response.aiter_bytes():
            content.extend(chunk)
            if len(content) > limit:
                raise TooLarge("the attachment", limit)
    return bytes(content)
