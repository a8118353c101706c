"""Event contracts: the envelope, one frozen pydantic model per event type, and the topic registry.

Depends on pydantic only, so any service (or an outside consumer) can import it alone.
"""

from shared.contracts.envelope import Envelope, EventPayload
from shared.contracts.registry import EVENT_TYPES, payload_class
from shared.contracts.topics import Stream, Topics

__all__ = ["EVENT_TYPES", "Envelope", "EventPayload", "Stream", "Topics", "payload_class"]
