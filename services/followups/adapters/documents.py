"""Document conventions shared by the repositories.

A document's `_id` embeds its tenant (`shared.platform.mongo.doc_id`). Every document also carries
`tenant_id`, and every query that is not a point lookup filters on it.
"""

from typing import Any, TypeVar

from pydantic import BaseModel

from shared.platform.mongo import doc_id

M = TypeVar("M", bound=BaseModel)



def to_doc(tenant_id: str, key: str, model: BaseModel, **extra: Any) -> dict[str, Any]:
    return {"_id": doc_id(tenant_id, key), "tenant_id": tenant_id, **model.model_dump(), **extra}


def from_doc(model: type[M], doc: dict[str, Any]) -> M:
    return model.model_validate(doc)
