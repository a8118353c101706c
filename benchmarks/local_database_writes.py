"""Why the local database runs without retryable writes: cost of one single-document write on
SecantusDB as writes accumulate, with the driver's retryable writes on and off, in the same run.

    .venv/bin/python benchmarks/local_database_writes.py [--writes 14000] [--step 2000] [--server rs|py]

Each mode gets a fresh SecantusDB process (the local default server, or the one `--server` names) and
inserts documents one by one; the script prints the mean milliseconds per write of each step. With
retryable writes on, SecantusDB 0.7.0b3's Python server keeps every write's reply for 30 minutes and,
past 10 000 of them, sorts them all on each new write.
"""

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from pymongo import MongoClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devstack.processes import MONGO_SERVERS, free_port, mongo_server, mongo_server_name, secantus  # noqa: E402


def write_costs(*, server: str, retry_writes: bool, writes: int, step: int) -> list[float]:
    """Milliseconds per insert for each `step` writes, on a database of its own."""
    workdir = Path(tempfile.mkdtemp(prefix="arf-bench-writes-"))
    port = free_port()
    database = secantus(port=port, storage_path=workdir / "mongo", log_path=workdir / "secantus.log",
                        server=server)
    database.start()
    try:
        database.wait_for_port(60)
        url = f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites={str(retry_writes).lower()}"
        with MongoClient(url) as client:
            collection = client.bench.writes
            costs = []
            for first in range(0, writes, step):
                started = time.perf_counter()
                for number in range(first, first + step):
                    collection.insert_one({"n": number})
                costs.append((time.perf_counter() - started) / step * 1000)
            return costs
    finally:
        database.stop(10)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=14_000)
    parser.add_argument("--step", type=int, default=2_000)
    parser.add_argument("--server", choices=list(MONGO_SERVERS), default=None)
    args = parser.parse_args()
    server = args.server or mongo_server()
    print(f"database: {mongo_server_name(server)}")
    on = write_costs(server=server, retry_writes=True, writes=args.writes, step=args.step)
    off = write_costs(server=server, retry_writes=False, writes=args.writes, step=args.step)
    print(f"{'writes so far':>14} {'retryWrites=true':>18} {'retryWrites=false':>18}   (ms per insert_one)")
    for index, (with_records, without) in enumerate(zip(on, off, strict=True)):
        print(f"{(index + 1) * args.step:>14} {with_records:>18.2f} {without:>18.2f}")


if __name__ == "__main__":
    main()
