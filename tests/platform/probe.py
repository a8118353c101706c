"""A minimal service built on the platform, for testing the plumbing itself.

POST /ping stages `ClientUpserted` events through the outbox (with a state change in the same
transaction); its consumer records every event it handles, counting repeats. A client named
`poison…` fails permanently, `flaky-<n>…` fails n times before it passes.
Run as a process: `python tests/platform/probe.py` (reads ARF_* like any service).
"""

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel
from pymongo.asynchronous.client_session import AsyncClientSession

from shared.contracts.receivables import ClientUpserted
from shared.platform.consumer import EventContext
from shared.platform.errors import PermanentError
from shared.platform.http import create_http_app
from shared.platform.mongo import run_in_transaction
from shared.platform.runtime import ServiceRuntime
from shared.platform.settings import ENV_PREFIX, PlatformSettings
from pydantic_settings import SettingsConfigDict

api = APIRouter()


class Ping(BaseModel):
    tenant_id: str = "acme"
    client_ids: list[str]
    name: str = "Client"
    fail_after_staging: bool = False


def client_event(client_id: str, name: str, version: int = 1) -> ClientUpserted:
    return ClientUpserted(client_id=client_id, number=client_id.upper(), name=name, entity_id="fr",
                          language="fr", currency="EUR", version=version)


@api.post("/ping")
async def ping(body: Ping, request: Request) -> dict[str, Any]:
    runtime: ServiceRuntime = request.app.state.runtime

    async def work(session: AsyncClientSession) -> list[str]:
        await runtime.db.state.update_one({"_id": "pings"}, {"$inc": {"n": len(body.client_ids)}},
                                          upsert=True, session=session)
        envelopes = [
            runtime.outbox.envelope(client_event(cid, body.name), tenant_id=body.tenant_id, key_id=cid,
                                    correlation_id=request.state.correlation_id)
            for cid in body.client_ids
        ]
        await runtime.outbox.stage(session, envelopes)
        if body.fail_after_staging:
            raise RuntimeError("failing on purpose: nothing may be written")
        return [envelope.id for envelope in envelopes]

    ids = await run_in_transaction(runtime.mongo, work)  # type: ignore[arg-type]
    runtime.outbox.notify_committed()
    return {"event_ids": ids}


async def record(event: ClientUpserted, ctx: EventContext, *, runtime: ServiceRuntime, attempts: dict[str, int]) -> None:
    if event.name.startswith("poison"):
        raise PermanentError(f"client {event.client_id} cannot be handled")
    if event.name.startswith("flaky-"):
        needed = int(event.name.split("-")[1].split()[0])
        attempts[ctx.envelope.id] = attempts.get(ctx.envelope.id, 0) + 1
        if attempts[ctx.envelope.id] <= needed:
            raise RuntimeError(f"flaky failure {attempts[ctx.envelope.id]}")
    envelope = ctx.envelope
    await runtime.db.received.update_one(
        {"_id": envelope.id},
        {"$inc": {"times": 1}, "$set": {"envelope": envelope.model_dump(mode="json"), "client_id": event.client_id}},
        upsert=True,
        session=ctx.session,
    )


class ProbeSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    probe_consume: bool = True
    probe_batch_size: int = 1


def create_app(settings: ProbeSettings) -> FastAPI:
    runtime = ServiceRuntime(name="probe", settings=settings)

    async def wire(runtime: ServiceRuntime, app: FastAPI) -> None:
        runtime.document_publications([ClientUpserted])
        if not settings.probe_consume:
            return
        router = runtime.event_router("probe-recorder", batch_size=settings.probe_batch_size)
        attempts: dict[str, int] = {}

        async def handler(event: ClientUpserted, ctx: EventContext) -> None:
            await record(event, ctx, runtime=runtime, attempts=attempts)

        router.on(ClientUpserted, handler)

    return create_http_app(runtime, title="probe", description="platform probe", routers=[api], wire=wire)


if __name__ == "__main__":
    from shared.platform.serve import serve

    serve(name="probe", settings_cls=ProbeSettings, create_app=create_app)
