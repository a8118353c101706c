"""HTTP API of the mailer: templates (hashtags, check, preview), the send ledger, the suppression list,
and the claim checks of reply files. Routes parse, authorise, call a handler and answer."""

from fastapi import APIRouter

from services.mailer.api import files, sends, suppressions, templates

router = APIRouter()
for part in (templates, sends, suppressions, files):  # in this order: the OpenAPI document lists them so
    router.include_router(part.router)
