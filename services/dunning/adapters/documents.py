"""Helpers every dunning repository shares: document ids and shapes, and the size of `$in` chunks."""

from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from shared.platform.mongo import ID_CHUNK, doc_id

Session = AsyncClientSession | None
# A long `$in` is matched element by element against every candidate on SecantusDB (cost ~ ids x docs):
# lists of ids are asked, and written, in chunks of this size (the platform's, for the same reason).
IN_CHUNK = ID_CHUNK
DUPLICATE_KEY = 11000

__all__ = ["DUPLICATE_KEY", "IN_CHUNK", "Session", "doc_id", "document", "stored"]


def document(tenant_id: str, key: str, model: Any) -> dict[str, Any]:
    """The stored form of a model: its fields, the tenant, and the id `<tenant>|<key>`."""
    return {"_id": doc_id(tenant_id, key), "tenant_id": tenant_id, **model.model_dump(mode="python")}


def stored(fields: dict[str, Any]) -> dict[str, Any]:
    """Field values as stored (models as their dicts)."""
    return {name: (value.model_dump() if hasattr(value, "model_dump") else value) for name, value in fields.items()}
