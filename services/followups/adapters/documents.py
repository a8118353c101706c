"""Document conventions shared by the repositories.

A document's `_id` embeds its tenant (`<tenant, %-escaped>:<key>`): a point lookup by `_id` is both the
fastest path and tenant-scoped, and two tenants' keys can never collide. Every document also carries
`tenant_id`, and every query that is not a point lookup filters on it.
"""

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import BaseModel

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

# `$in` lists are matched linearly by the local default database: small chunks keep lookups linear overall.
IN_CHUNK = 100


def doc_id(tenant_id: str, key: str) -> str:
    return f"{quote(tenant_id, safe='')}:{key}"


def to_doc(tenant_id: str, key: str, model: BaseModel, **extra: Any) -> dict[str, Any]:
    return {"_id": doc_id(tenant_id, key), "tenant_id": tenant_id, **model.model_dump(), **extra}


def from_doc(model: type[M], doc: dict[str, Any]) -> M:
    return model.model_validate(doc)


def chunks(values: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def unique(values: Iterable[T]) -> list[T]:
    return list(dict.fromkeys(values))
