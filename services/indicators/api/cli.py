"""The recompute-and-compare command, from a shell (the same handler as `POST /admin/recompute`):

    python -m services.indicators.api.cli [--tenant acme] [--repair] [--no-history]

Exits 1 when a difference is found. `--repair` recounts the items counted with stale facts, then
corrects what still differs; run it while the consumers are stopped.
"""

import argparse
import asyncio
import json
import sys

from services.indicators.adapters.transaction import mongo_unit_of_work
from services.indicators.config import IndicatorsSettings
from services.indicators.handlers.recompute import recompute_and_compare
from shared.contracts.topics import Topics
from shared.platform.clock import SystemClock
from shared.platform.mongo import create_mongo_client, database_name
from shared.platform.outbox import Outbox
from shared.platform.settings import load_settings


async def _main(args: argparse.Namespace) -> int:
    settings = load_settings(IndicatorsSettings)
    client = create_mongo_client(settings, appname="arf-indicators-recompute")
    db, clock = client[database_name(settings, "indicators")], SystemClock()
    # The indicators publish nothing: the outbox is only what the unit of work is built with.
    outbox = Outbox(db, source="/services/indicators", topics=Topics(settings.kafka_topic_prefix), clock=clock)
    uow = mongo_unit_of_work(client, db, outbox)
    try:
        tenants = [args.tenant] if args.tenant else await uow.reading().history.tenants()
        clean = True
        for tenant_id in tenants:
            report = await recompute_and_compare(tenant_id, uow=uow, clock=clock, check_history=not args.no_history,
                                                 repair=args.repair)
            print(json.dumps(report.model_dump(mode="json"), indent=2))
            clean = clean and report.clean
        return 0 if clean else 1
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the recompute for each tenant, and return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m services.indicators.api.cli",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--tenant", help="Only this tenant (default: every tenant with figures)")
    parser.add_argument("--repair", action="store_true", help="Recount stale items and correct what differs")
    parser.add_argument("--no-history", action="store_true", help="Skip comparing with the sum of the history")
    return asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
