"""Helpers for the interactive-link tests: a case with a link sent to a colleague, a browser-less visitor of
the page (GET, forms with their tokens, POST), and tampering with tokens as an attacker would."""

import base64
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from shared.links import LinkGrant, LinkKeys, sign_link
from tests.followups.helpers import LINK_KEYS, Api, Service, seed_client, seed_people, send_interactive
from tests.support.links import full_link

FORM = re.compile(r'<form method="post" action="(?P<action>[^"]+)"[^>]*>.*?name="form_token" value="(?P<token>[^"]+)"',
                  re.S)
KEYS = LinkKeys.parse(LINK_KEYS)
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@dataclass
class Case:
    api: Api
    action_id: str
    item_ids: list[str]
    url: str  # the link, as the email carries it
    link: dict[str, Any]
    request: dict[str, Any]

    @property
    def path(self) -> str:
        return httpx.URL(self.url).path

    async def history(self) -> list[dict[str, Any]]:
        return await self.api.ok("GET", f"/actions/{self.action_id}/history")  # type: ignore[no-any-return]


async def open_case(api: Api, *, link: dict[str, Any] | None = None, items: int = 2, language: str = "fr",
                    to: str = "u-sales@acme.example", client_id: str = "C1") -> Case:
    """A follow-up on a new client's items, and an interactive email about it to a colleague."""
    await seed_people(api)
    await api.ok("PUT", "/admin/settings", json={"company": {"name": "Acme Industries"},
                                                 "internal_domains": ["acme.example"], "default_language": language})
    ids = await seed_client(api, client_id, items=items)
    action = await api.ok("POST", "/actions", 201, json={"client_id": client_id, "type": "follow_up", "item_ids": ids,
                                                         "name": "Price dispute — Sept", "owner_id": "u-col"})
    sent = await send_interactive(api, action["action_id"], to=to, link=link)
    return Case(api=api, action_id=action["action_id"], item_ids=ids, url=sent["url"], link=sent["link"],
                request=sent["request"])


class Visitor:
    """Someone with a browser-less HTTP client: no bearer token, only the link."""

    def __init__(self, service: Service) -> None:
        self.http = service.client(timeout=30.0, follow_redirects=False)

    async def __aenter__(self) -> "Visitor":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(path, **kwargs)

    async def forms(self, path: str) -> dict[str, str]:
        """The page's forms: their action (last path segment) → their form token."""
        page = await self.http.get(path)
        assert page.status_code == 200, page.text
        return {match["action"].rsplit("/", 1)[-1]: match["token"] for match in FORM.finditer(page.text)}

    async def post(self, path: str, data: dict[str, Any] | None = None, files: Any = None) -> httpx.Response:
        return await self.http.post(path, data=data, files=files)


def tamper_payload(token: str, **changes: Any) -> str:
    """The same signature on a payload changed by hand (an altered scope, another tenant…)."""
    version, key_id, payload, mac = token.split(".")
    grant = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    grant.update(changes)
    changed = base64.urlsafe_b64encode(json.dumps(grant, separators=(",", ":")).encode()).rstrip(b"=").decode()
    return f"{version}.{key_id}.{changed}.{mac}"


def flip_last_char(token: str) -> str:
    """One character of the signature changed. Not the very last one: in base64 its low bits are padding, so
    some changes there decode to the same bytes (the same signature, not a forgery)."""
    return token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]


def token_of(case: Case) -> str:
    return case.path.rsplit("/", 1)[-1]


def signed(**fields: Any) -> str:
    """A first-format link (the whole grant in the token, as emails sent before short links carry it),
    genuinely signed with the service's keys (what a leaked key, or a test, could make)."""
    return full_link(LinkGrant(**fields), KEYS)


def short_signed(**fields: Any) -> str:
    """A short link genuinely signed with the service's keys for the grant's tenant and link id."""
    return sign_link(LinkGrant(**fields), KEYS)


def grant_of(case: Case, *, expires_at: datetime, **changes: Any) -> dict[str, Any]:
    link = case.link
    return {"tenant_id": case.api.tenant_id, "link_id": link["link_id"], "action_id": link["action_id"],
            "recipient": link["recipient"], "operations": frozenset(link["operations"]),
            "statuses": tuple(link["statuses"]), "expires_at": expires_at, **changes}
