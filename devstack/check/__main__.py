"""`python -m devstack.check` (what `make check` runs): check the stack `make up` runs; exit 1 on any difference.

Options: `--tenant ID` (repeatable; default the demo tenant), `--expect-dead-letter EVENT_ID` (repeatable:
what the run dead-lettered on purpose), `--lag-timeout S` (how long to wait for the consumers).
"""

import argparse
import asyncio
import sys

from devstack.check.model import Target
from devstack.check.run import check
from devstack.processes import secantus_url
from devstack.seed import DEMO_TENANT
from devstack.stack import SERVICES, StackConfig
from devstack.tokens import mint_token


def target_of_make_up(config: StackConfig, args: argparse.Namespace) -> Target:
    """The stack of `make up`: its ports, its development keys, each service's default database."""
    private_key = config.private_key.read_text()

    def token_for(tenant_id: str) -> str:
        return mint_token(private_key, tenant_id=tenant_id, user_id="consistency-check", role="admin",
                          email="check@localhost", name="Consistency check")

    return Target(urls={name: config.url(name) for name in SERVICES},
                  kafka_bootstrap_servers=f"127.0.0.1:{config.kafka_port}",
                  mongodb_url=secantus_url(config.mongo_port),
                  databases={name: f"arf_{name}" for name in SERVICES},
                  tenants=args.tenant or [DEMO_TENANT], token_for=token_for,
                  expected_dead_letters=frozenset(args.expect_dead_letter or ()), lag_timeout_s=args.lag_timeout)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.check", description=__doc__.splitlines()[0])
    parser.add_argument("--tenant", action="append")
    parser.add_argument("--expect-dead-letter", action="append")
    parser.add_argument("--lag-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    config = StackConfig()
    if not config.private_key.exists():
        print(f"no development keys in {config.data_dir}: start the stack with `make up` first")
        return 2
    differences = asyncio.run(check(target_of_make_up(config, args), lambda line: print(line, flush=True)))
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
